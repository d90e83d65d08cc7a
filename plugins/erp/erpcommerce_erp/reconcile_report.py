"""What ``erpcommerce reconcile`` found: every difference counted, the first ones kept, and how to show them.

A difference has a ``kind`` (``<subject>.<what>``, the list is :data:`KINDS`), the ERP's and the
store's ids of the thing that differs, the field, and both values as text. The report counts
every difference by kind, but keeps only the first ``limit`` ones (``--limit-report``) so that a
store far out of step does not fill the memory. It renders as rich tables or one JSON document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "KINDS",
    "Difference",
    "ReconcileReport",
    "format_prices",
    "render_report",
]

KINDS: dict[str, str] = {
    "product.missing_in_store": "active in the ERP, not in the store",
    "product.missing_in_erp": "live in the store, not listed by the ERP",
    "product.archived_in_erp": "archived in the ERP, live in the store",
    "product.archived_in_store": "active in the ERP, archived in the store",
    "product.field": "a product field differs (title, subtitle, description, thumbnail, handle, status, metadata)",
    "product.options": "the product's options or their values differ",
    "variant.missing_in_store": "active in the ERP, not in the store",
    "variant.missing_in_erp": "live in the store, not listed by the ERP",
    "variant.archived_in_erp": "archived in the ERP, live in the store",
    "variant.archived_in_store": "active in the ERP, archived in the store",
    "variant.product": "the variant belongs to another product in the store",
    "variant.field": "a variant field differs (title, sku, barcode, metadata)",
    "variant.options": "the variant's option values differ",
    "price.mismatch": "a variant's prices in one currency differ",
    "stock.mismatch": "a variant's stock (quantity, backorders, managed) differs",
    "order.missing_in_erp": "a placed store order has no order in the ERP",
    "order.duplicated": "several live ERP orders for one store order",
    "order.unlinked": "the ERP has the order, the store does not know its ERP id",
    "order.link": "the store links an ERP order the ERP does not list for this order",
    "order.status": "the order status differs (ERP status mapped as the webhook maps it)",
    "order.fulfillment": "the fulfillment status differs (mapped as the webhook maps it)",
}


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between the store and the ERP (values as text; None: absent on that side)."""

    kind: str
    external_id: str | None
    store_id: str | None = None
    field: str | None = None
    store: str | None = None
    erp: str | None = None
    detail: str | None = None


@dataclass
class ReconcileReport:
    """Every difference counted by kind; the first ``limit`` kept (0: all).

    :ivar checked: how many records of each part were compared (products, variants, prices, stock, orders).
    :ivar unchecked: the parts that could not be checked, and why.
    """

    limit: int = 50
    counts: Counter[str] = field(default_factory=Counter)
    items: list[Difference] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    unchecked: dict[str, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def truncated(self) -> int:
        return self.total - len(self.items)

    def add(self, kind: str, external_id: str | None, **values: Any) -> None:
        """Count a difference of ``kind``; keep it while under the limit."""
        if kind not in KINDS:
            raise ValueError(f"unknown difference kind {kind!r}")
        self.counts[kind] += 1
        if not self.limit or len(self.items) < self.limit:
            text = {name: None if value is None else str(value) for name, value in values.items()}
            self.items.append(Difference(kind, external_id, **text))

    def compare(self, kind: str, external_id: str | None, store_id: str | None, name: str,
                store: Any, erp: Any) -> bool:
        """Add a ``kind`` difference on field ``name`` when ``store != erp``; whether they differed."""
        if store == erp:
            return False
        self.add(kind, external_id, store_id=store_id, field=name, store=_text(store), erp=_text(erp))
        return True

    def as_json(self) -> dict[str, Any]:
        """The report as one JSON-ready document."""
        return {
            "ok": self.total == 0 and not self.unchecked,
            "differences": self.total,
            "by_kind": dict(sorted(self.counts.items())),
            "checked": dict(sorted(self.checked.items())),
            "parts": self.parts,
            "unchecked": self.unchecked,
            "items": [asdict(item) for item in self.items],
            "truncated": self.truncated,
            "seconds": round(self.seconds, 3),
        }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def format_prices(keys: Iterable[tuple[str, Decimal, int, int]]) -> str:
    """Price keys (currency, amount, min, max; 0 for none) as ``12.5, 11 from 10`` (``none``: no price)."""
    parts = []
    for _, amount, low, high in sorted(keys, key=lambda key: (key[2], key[3], key[1])):
        text = format(amount.normalize(), "f")
        if low > 1:
            text += f" from {low}"
        if high:
            text += f" to {high}"
        parts.append(text)
    return ", ".join(parts) or "none"


def render_report(report: ReconcileReport) -> Any:
    """The report as rich renderables: the differences kept, then a summary by kind."""
    from rich.console import Group
    from rich.table import Table

    summary = Table(title=f"Reconcile: {report.total} difference(s) in {report.seconds:.1f} s")
    summary.add_column("kind")
    summary.add_column("count", justify="right")
    summary.add_column("meaning")
    for kind, count in sorted(report.counts.items()):
        summary.add_row(kind, str(count), KINDS[kind])
    for part, count in sorted(report.checked.items()):
        summary.add_row(f"checked {part}", str(count), "")
    for part, reason in report.unchecked.items():
        summary.add_row(f"NOT checked: {part}", "", reason)
    renderables: list[Any] = []
    if report.items:
        details = Table(title="Differences" + (f" (first {len(report.items)})" if report.truncated else ""))
        for column in ("kind", "ERP id", "store id", "field", "store", "ERP", "detail"):
            details.add_column(column, overflow="fold")
        for item in report.items:
            details.add_row(item.kind, item.external_id or "", item.store_id or "", item.field or "",
                            item.store or "", item.erp or "", item.detail or "")
        renderables.append(details)
    renderables.append(summary)
    return Group(*renderables)
