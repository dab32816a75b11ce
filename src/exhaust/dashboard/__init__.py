"""The course dashboard (SPEC §5.3): server-rendered pages, telemetry and the download ratio."""
