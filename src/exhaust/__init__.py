"""exhaust: course progress, user info and response reports for Sunbird / DIKSHA data."""

__version__ = "0.1.0"
