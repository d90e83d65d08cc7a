"""``python -m core``: the same as the ``erpcommerce`` command."""

from __future__ import annotations

from core.cli import main

raise SystemExit(main())
