"""The catalog: product listings for the Store API, catalog writes for the Admin API.

- :mod:`core.catalog.listing` — product reads rendered from ``.values()`` rows (constant queries per page).
- :mod:`core.catalog.pricing` — ``variants[].calculated_price`` (the one place listings price variants).
- :mod:`core.catalog.cache` — the Store response cache and the catalog version every write bumps.
- :mod:`core.catalog.admin`, :mod:`~core.catalog.regions`, :mod:`~core.catalog.sales_channels`,
  :mod:`~core.catalog.api_keys` — Admin API services.
"""

from __future__ import annotations

from core.catalog.cache import bump_catalog_version, catalog_version

__all__ = [
    "bump_catalog_version",
    "catalog_version",
]
