"""The HTTP API (SPEC §5): Sunbird's dataset request endpoints, downloads, health and metrics."""

from exhaust.api.app import create_app

__all__ = ["create_app"]
