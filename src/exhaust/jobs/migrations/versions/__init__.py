"""Versioned migrations of the job store, applied in order."""
