"""The HTTP API (SPEC §5): Sunbird's dataset request endpoints, downloads, health and metrics.

`create_app` is imported on first use, so that `exhaust.api.cli` (the `serve` and `token` commands)
loads without FastAPI until a command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exhaust.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from exhaust.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
