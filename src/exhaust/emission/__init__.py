"""cQube emission: the client (`exhaust emit`), the emission API under /data and the validating ingestion."""
