"""Who gets a job's mail: `datasetConfig.email` of the request, else the requester's own address.

The job's `request_data` *is* the submitted `datasetConfig` (Sunbird stores it so), so the address is its
top-level `email`; a `datasetConfig` object nested inside it is read too, for requests written that way.
"""

from __future__ import annotations

import re

from exhaust.pii import decrypt
from exhaust.sources.base import Source

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def recipient_for(request_data: dict, requested_by: str, source: Source | None, salt: str) -> str | None:
    """The address to mail, or None when there is no usable one (the user store's copy is decrypted)."""
    data = request_data if isinstance(request_data, dict) else {}
    nested = data.get("datasetConfig")
    for configured in (data.get("email"), nested.get("email") if isinstance(nested, dict) else None):
        if isinstance(configured, str) and _ADDRESS.match(configured.strip()):
            return configured.strip()
    if source is None or not requested_by:
        return None
    rows = source.users([requested_by]).to_pylist()
    stored = decrypt(rows[0].get("email"), salt) if rows else None
    return stored.strip() if stored and _ADDRESS.match(stored.strip()) else None
