"""Synthetic Sunbird data for trying the service and for benchmarks (`exhaust demo-data`)."""

from exhaust.demo.generate import DEMO_SALT, MAIN_BATCH, DemoSummary, generate_demo

__all__ = ["DEMO_SALT", "MAIN_BATCH", "DemoSummary", "generate_demo"]
