"""Helpers for the product sync tests: an ERP catalogue for FakeErp, running a sync to its end."""

from __future__ import annotations

from decimal import Decimal

from core.models import SyncRun
from core.syncs import start_sync
from core.workflows.durable import Engine
from erpcommerce_erp.contract import ErpOption, ErpPrice, ErpProduct, ErpVariant

__all__ = [
    "cap",
    "catalogue",
    "eur",
    "mug",
    "run_sync",
    "shirt",
]


def eur(amount: str, min_quantity: int | None = None) -> ErpPrice:
    return ErpPrice(currency_code="EUR", amount=Decimal(amount), min_quantity=min_quantity)


def shirt(**changes: object) -> ErpProduct:
    """P1 "Shirt": option Size S/M, variants P1-S and P1-M with prices (M has a quantity break)."""
    product = ErpProduct(
        external_id="P1",
        title="Shirt",
        description="A shirt",
        options=[ErpOption(title="Size", values=["S", "M"])],
        variants=[
            ErpVariant(external_id="P1-S", title="S", sku="SH-S", options={"Size": "S"}, prices=[eur("10")]),
            ErpVariant(
                external_id="P1-M", title="M", sku="SH-M", options={"Size": "M"},
                prices=[eur("12.5"), eur("11", min_quantity=10)],
            ),
        ],
    )
    return product.model_copy(update=changes)


def mug(**changes: object) -> ErpProduct:
    """P2 "Mug": no options, one variant P2-1 at 5 EUR."""
    product = ErpProduct(
        external_id="P2",
        title="Mug",
        variants=[ErpVariant(external_id="P2-1", title="Default", sku="MUG-1", prices=[eur("5")])],
    )
    return product.model_copy(update=changes)


def cap(**changes: object) -> ErpProduct:
    """P3 "Cap" with handle "cap-hat": option Color, variants P3-R and P3-B, prices left to the price stream."""
    product = ErpProduct(
        external_id="P3",
        title="Cap",
        handle="cap-hat",
        options=[ErpOption(title="Color", values=["Red", "Blue"])],
        variants=[
            ErpVariant(external_id="P3-R", title="Red", options={"Color": "Red"}),
            ErpVariant(external_id="P3-B", title="Blue", options={"Color": "Blue"}),
        ],
    )
    return product.model_copy(update=changes)


def catalogue() -> list[ErpProduct]:
    return [shirt(), mug(), cap()]


async def run_sync(engine: Engine, *, full: bool = False, dry_run: bool = False) -> SyncRun:
    """Start a products sync and execute it here to its end; its SyncRun row."""
    sync_run = await start_sync(engine, "products", full=full, dry_run=dry_run, trigger="test")
    await engine.execute(sync_run.run_id)
    return await SyncRun.get(id=sync_run.id)
