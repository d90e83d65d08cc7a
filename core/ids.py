"""Prefixed, time-sortable identifiers in Medusa's style (``prod_01JF...``).

The part after the prefix is a 26-character ULID (Crockford base32 of a 48-bit millisecond
timestamp and 80 random bits), monotonic within one process: ids created later sort later.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = [
    "new_id",
    "new_token",
]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_random = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _ulid() -> str:
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            now_ms = _last_ms
            _last_random += 1
        else:
            _last_ms = now_ms
            _last_random = int.from_bytes(os.urandom(10), "big") >> 1
        return _encode(now_ms, 10) + _encode(_last_random, 16)


def new_id(prefix: str) -> str:
    """A new id such as ``cart_01JF3Q...``; ids made later compare greater."""
    return f"{prefix}_{_ulid()}"


def new_token(prefix: str, nbytes: int = 32) -> str:
    """An unguessable secret token such as a publishable key ``pk_<64 hex>``."""
    return f"{prefix}_{os.urandom(nbytes).hex()}"
