"""Odoo records -> the ERP contract's models.

- ``product.template`` -> :class:`ErpProduct`: template id -> ``external_id``, ``name`` -> title,
  ``description_sale`` -> description, ``active`` False -> archived;
- ``product.product`` -> :class:`ErpVariant`: variant id -> ``external_id``, ``default_code`` ->
  ``sku``, ``barcode``, ``active``; its title is its attribute values (``S / Red``), or the
  template's name when it has none;
- attribute lines -> :class:`ErpOption`: one option per attribute that makes variants, titled
  with the attribute's name, its values in the order the template's variants use them;
- prices -> :class:`ErpPrice` tiers (see :mod:`erpcommerce_odoo.pricelists`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from erpcommerce_erp.contract import ErpOption, ErpPrice, ErpProduct, ErpVariant
from erpcommerce_odoo.pricelists import Tier
from erpcommerce_odoo.records import TemplateRecord, TemplateValue, VariantRecord, m2o_name

__all__ = [
    "erp_prices",
    "erp_product",
]


def erp_prices(tiers: Iterable[Tier], currency_code: str) -> list[ErpPrice]:
    """Quantity breaks as the store's prices (the first tier has no lower bound)."""
    return [
        ErpPrice(
            currency_code=currency_code,
            amount=tier.amount,
            min_quantity=tier.min_quantity if tier.min_quantity > 1 else None,
            max_quantity=tier.max_quantity,
        )
        for tier in tiers
    ]


def erp_product(
    template: TemplateRecord,
    variants: Iterable[VariantRecord],
    values: Mapping[int, TemplateValue],
    prices: Mapping[int, list[ErpPrice]] | None = None,
) -> ErpProduct:
    """The product of ``template`` with ``variants`` (archived ones included).

    :param values: the template's attribute values (PTAVs) by id.
    :param prices: each variant's prices by variant id (a variant left out keeps the store's).
    """
    variants = sorted(variants, key=lambda v: v.id)
    line_rank = {line_id: rank for rank, line_id in enumerate(template.attribute_line_ids)}

    def ordered(variant: VariantRecord) -> list[TemplateValue]:
        found = [values[i] for i in variant.product_template_attribute_value_ids if i in values]
        return sorted(found, key=lambda v: (line_rank.get(v.attribute_line_id, len(line_rank)), v.id))

    options: dict[str, list[str]] = {}
    for variant in variants:
        if not variant.active:
            continue
        for value in ordered(variant):
            known = options.setdefault(_attribute(value), [])
            if value.name not in known:
                known.append(value.name)
    return ErpProduct(
        external_id=str(template.id),
        title=template.name,
        description=template.description_sale,
        active=template.active,
        options=[ErpOption(title=title, values=names) for title, names in options.items()],
        variants=[_variant(template, v, ordered(v), prices) for v in variants],
    )


def _variant(
    template: TemplateRecord,
    variant: VariantRecord,
    values: list[TemplateValue],
    prices: Mapping[int, list[ErpPrice]] | None,
) -> ErpVariant:
    return ErpVariant(
        external_id=str(variant.id),
        title=" / ".join(v.name for v in values) or template.name,
        sku=variant.default_code,
        barcode=variant.barcode,
        options={_attribute(v): v.name for v in values},
        prices=None if prices is None else prices.get(variant.id),
        active=variant.active and template.active,
    )


def _attribute(value: TemplateValue) -> str:
    return m2o_name(value.attribute_id) or "Option"
