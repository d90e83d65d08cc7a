"""erpcommerce core: the server, its data model, workflows and hook specifications."""

from __future__ import annotations

__all__ = [
    "__version__",
]

__version__ = "0.1.0"
