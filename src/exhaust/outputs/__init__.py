"""Outputs: CSV files, zips, storage and signed links."""
