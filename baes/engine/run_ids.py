"""Run ids: sortable by start time, unique across processes and hosts, safe as folder names."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id() -> str:
    """`YYYYMMDD-HHMMSS-ffffff-<10 hex>`: UTC time to the microsecond plus 40 random bits.

    Lexical order is time order; the random part makes two ids minted in the same microsecond on
    different machines collide with probability 2**-40.
    """
    moment = datetime.now(UTC)
    return f"{moment:%Y%m%d-%H%M%S-%f}-{secrets.token_hex(5)}"
