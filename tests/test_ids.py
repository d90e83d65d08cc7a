"""Prefixed ULID ids: Crockford base32 of (milliseconds, randomness), sortable by creation."""

from __future__ import annotations

import random

from core.ids import _encode_ulid, new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _reference(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(CROCKFORD[rem])
    return "".join(reversed(chars))


def test_ulid_is_the_crockford_base32_of_time_then_randomness() -> None:
    rng = random.Random(7)
    cases = [(0, 0), ((1 << 48) - 1, (1 << 80) - 1), (1_700_000_000_000, 1)]
    cases += [(rng.getrandbits(48), rng.getrandbits(80)) for _ in range(2000)]
    for now_ms, randomness in cases:
        assert _encode_ulid(now_ms, randomness) == _reference(now_ms, 10) + _reference(randomness, 16)


def test_ids_made_later_sort_later_and_carry_their_prefix() -> None:
    ids = [new_id("prod") for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("prod_") and len(i) == 31 and set(i[5:]) <= set(CROCKFORD) for i in ids)
