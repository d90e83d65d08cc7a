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


# Two Crockford base32 characters for each 10-bit number: an id is 13 lookups (a divmod per
# character cost ~10 us per id, and product sync makes ~340k ids for 100k variants).
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_SHIFTS = tuple(range(120, -1, -10))


def _encode_ulid(now_ms: int, randomness: int) -> str:
    """The 26 characters of a ULID: 48-bit ``now_ms`` then 80-bit ``randomness`` (130 bits, 2 zero bits first)."""
    value = (now_ms << 80) | randomness
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in _SHIFTS])


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
        return _encode_ulid(now_ms, _last_random)


def new_id(prefix: str) -> str:
    """A new id such as ``cart_01JF3Q...``; ids made later compare greater."""
    return f"{prefix}_{_ulid()}"


def new_token(prefix: str, nbytes: int = 32) -> str:
    """An unguessable secret token such as a publishable key ``pk_<64 hex>``."""
    return f"{prefix}_{os.urandom(nbytes).hex()}"
