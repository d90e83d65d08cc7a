"""ISO 3166 countries (from pycountry), created on demand when a region names them."""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import InvalidData
from core.models import Country

__all__ = [
    "ensure_countries",
]


def _describe(iso_2: str) -> Country:
    import pycountry  # loaded lazily: its tables are only needed when regions change

    record = pycountry.countries.get(alpha_2=iso_2.upper())
    if record is None:
        raise InvalidData(f"Country with iso_2 '{iso_2}' is not a valid ISO 3166 code")
    name = getattr(record, "common_name", None) or record.name
    return Country(
        iso_2=iso_2.lower(),
        iso_3=record.alpha_3.lower(),
        num_code=record.numeric,
        name=record.name.upper(),
        display_name=name,
    )


async def ensure_countries(codes: Iterable[str]) -> list[Country]:
    """The Country rows for these iso_2 codes, creating missing ones; unknown codes → 400."""
    wanted = [_describe(code) for code in dict.fromkeys(code.lower() for code in codes)]
    existing = {c.iso_2: c for c in await Country.filter(iso_2__in=[c.iso_2 for c in wanted])}
    missing = [c for c in wanted if c.iso_2 not in existing]
    if missing:
        await Country.bulk_create(missing, ignore_conflicts=True)
        existing.update({c.iso_2: c for c in await Country.filter(iso_2__in=[c.iso_2 for c in missing])})
    return [existing[c.iso_2] for c in wanted]
