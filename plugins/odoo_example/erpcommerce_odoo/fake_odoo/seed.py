"""Deterministic seeded data: the base records every Odoo has, then a catalogue.

- ``seed="demo"``: a small readable catalogue (:func:`seed_demo`): chairs, desks, lamps...,
  three customer companies with contacts and their own pricelists (percentage, formula, fixed
  prices, quantity breaks, date windows), stock in two locations, an archived product, an archived
  variant, an out-of-stock product that may not be backordered and a product restricted to one
  company through ``x_allowed_partner_ids``.
- ``seed=N`` (an int): **N variants** (:func:`seed_generated`), spread over templates of 1 to 6
  variants (Color × Size attributes), with the same kinds of companies, pricelist rules, stock,
  archived and restricted products in proportion.

Every record is stamped ``2024-01-01 00:00:00`` (UTC), so runs are reproducible; what clients
write afterwards carries the real time. Every product is storable (Odoo tracks its stock), as
products with quants are in Odoo.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .api import Call
from .registry import Database

__all__ = [
    "SEED_TIME",
    "seed_database",
    "seed_demo",
    "seed_generated",
]

SEED_TIME = datetime(2024, 1, 1, tzinfo=UTC)
ROOT = Call(1, {"active_test": False})
ALWAYS = ("2020-01-01 00:00:00", "2099-12-31 23:59:59")
EXPIRED = ("2020-01-01 00:00:00", "2021-12-31 23:59:59")


class _Seeder:
    """Creates records as the superuser and names the ones worth an external id."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, model: str, vals: dict[str, Any], xmlid: str | None = None) -> int:
        rec_id = self.db.models[model].create_record(ROOT, vals)
        if xmlid:
            self.db.models["ir.model.data"].register(ROOT, xmlid, model, rec_id)  # type: ignore[attr-defined]
        return rec_id

    def write(self, model: str, ids: list[int], vals: dict[str, Any]) -> None:
        self.db.models[model].write_records(ROOT, ids, vals)

    def variants(self, template: int) -> list[int]:
        return sorted(self.db.models["product.product"].referencing("product_tmpl_id", template))

    def set_pricelist(self, partner: int, pricelist: int, company: int = 1) -> None:
        self.db.models["res.partner"].records[partner].setdefault("_pricelists", {})[company] = pricelist


def seed_database(db: Database, seed: str | int = "demo", *, login: str = "admin", password: str = "admin") -> None:
    """Fill an empty database: base records, the admin user, then the ``demo`` or ``N``-variant catalogue."""
    clock = db.clock
    db.clock = lambda: SEED_TIME
    try:
        seeder = _Seeder(db)
        _seed_base(seeder, login, password)
        if seed == "demo":
            seed_demo(seeder)
        else:
            seed_generated(seeder, int(seed))
    finally:
        db.clock = clock
    db.changed()


def _seed_base(s: _Seeder, login: str, password: str) -> None:
    eur = s.create("res.currency", {"name": "EUR", "symbol": "€", "position": "after"}, "base.EUR")
    s.create("res.currency", {"name": "USD", "symbol": "$", "position": "before"}, "base.USD")
    for code, name in (("BE", "Belgium"), ("US", "United States"), ("FR", "France"), ("DE", "Germany")):
        s.create("res.country", {"name": name, "code": code}, f"base.{code.lower()}")
    company_partner = s.create("res.partner", {"name": "My Company", "is_company": True, "email": "info@yourcompany.example"},
                               "base.main_partner")
    company = s.create("res.company", {"name": "My Company", "currency_id": eur, "partner_id": company_partner},
                       "base.main_company")
    bot = s.create("res.partner", {"name": "OdooBot", "email": "odoobot@example.com"}, "base.partner_root")
    admin_partner = s.create("res.partner", {"name": "Mitchell Admin", "email": "admin@yourcompany.example",
                                             "parent_id": company_partner}, "base.partner_admin")
    s.create("res.users", {"name": "OdooBot", "login": "__system__", "partner_id": bot, "active": False,
                           "company_id": company, "company_ids": [company]}, "base.user_root")
    admin = s.create("res.users", {"name": "Mitchell Admin", "login": login, "partner_id": admin_partner,
                                   "company_id": company, "company_ids": [company], "email": "admin@yourcompany.example"},
                     "base.user_admin")
    s.db.models["res.users"].records[admin]["_password"] = password
    reader_partner = s.create("res.partner", {"name": "Read Only", "email": "readonly@yourcompany.example"})
    reader = s.create("res.users", {"name": "Read Only", "login": "readonly", "partner_id": reader_partner,
                                    "company_id": company, "company_ids": [company], "share": True})
    s.db.models["res.users"].records[reader].update(_password="readonly", _read_only=True)
    s.create("uom.uom", {"name": "Units"}, "uom.product_uom_unit")
    s.create("uom.uom", {"name": "Dozens", "factor": 1 / 12, "uom_type": "bigger"}, "uom.product_uom_dozen")
    s.create("account.tax", {"name": "0%", "amount": 0.0}, "account.tax_0")
    s.create("account.tax", {"name": "21%", "amount": 21.0}, "account.tax_21")
    everything = s.create("product.category", {"name": "All"}, "product.product_category_all")
    s.create("product.category", {"name": "Saleable", "parent_id": everything}, "product.product_category_1")
    physical = s.create("stock.location", {"name": "Physical Locations", "usage": "view"})
    partners = s.create("stock.location", {"name": "Partners", "usage": "view"})
    s.create("stock.location", {"name": "Customers", "usage": "customer", "location_id": partners},
             "stock.stock_location_customers")
    s.create("stock.location", {"name": "Vendors", "usage": "supplier", "location_id": partners},
             "stock.stock_location_suppliers")
    view = s.create("stock.location", {"name": "WH", "usage": "view", "location_id": physical})
    stock = s.create("stock.location", {"name": "Stock", "usage": "internal", "location_id": view, "company_id": company},
                     "stock.stock_location_stock")
    s.create("stock.location", {"name": "Shelf 1", "usage": "internal", "location_id": stock, "company_id": company})
    s.create("stock.warehouse", {"name": "San Francisco", "code": "WH", "company_id": company,
                                 "view_location_id": view, "lot_stock_id": stock}, "stock.warehouse0")
    s.create("product.pricelist", {"name": "Public Pricelist", "sequence": 1, "currency_id": eur}, "product.list0")


def _location(s: _Seeder, name: str) -> int:
    for rec in s.db.models["stock.location"].records.values():
        if rec["complete_name"] == name:
            return int(rec["id"])
    raise LookupError(name)


def _category(s: _Seeder, name: str, parent: str = "All / Saleable") -> int:
    parent_id = next(r["id"] for r in s.db.models["product.category"].records.values() if r["complete_name"] == parent)
    return s.create("product.category", {"name": name, "parent_id": parent_id})


def _attribute(s: _Seeder, name: str, values: list[str], display_type: str = "radio") -> list[int]:
    attribute = s.create("product.attribute", {"name": name, "display_type": display_type})
    return [s.create("product.attribute.value", {"name": v, "attribute_id": attribute, "sequence": i})
            for i, v in enumerate(values)]


def _storable(s: _Seeder) -> dict[str, Any]:
    """A product whose stock Odoo tracks (only those have quants): ``is_storable`` in 18, else ``product``."""
    return {"is_storable": True} if s.db.major >= 18 else {"detailed_type": "product", "type": "product"}


def _template(s: _Seeder, vals: dict[str, Any], lines: list[list[int]], codes: list[str],
              extras: dict[int, float] | None = None) -> tuple[int, list[int]]:
    values = s.db.models["product.attribute.value"].records
    commands = [(0, 0, {"attribute_id": values[line[0]]["attribute_id"], "value_ids": [(6, 0, line)]}) for line in lines]
    template = s.create("product.template", {**_storable(s), **vals, "attribute_line_ids": commands})
    ptavs = s.db.models["product.template.attribute.value"]
    for ptav_id in sorted(ptavs.referencing("product_tmpl_id", template)):
        extra = (extras or {}).get(ptavs.records[ptav_id]["product_attribute_value_id"])
        if extra:
            ptavs.records[ptav_id]["price_extra"] = extra
    variants = s.variants(template)
    for variant, code in zip(variants, codes):
        s.write("product.product", [variant], {"default_code": code})
    return template, variants


def seed_demo(s: _Seeder) -> None:
    """The readable demo catalogue (see the module docstring)."""
    furniture, lighting, accessories = (_category(s, n) for n in ("Office Furniture", "Lighting", "Accessories"))
    black, white, red = _attribute(s, "Color", ["Black", "White", "Red"], "color")
    s120, s140, s160 = _attribute(s, "Size", ["120 cm", "140 cm", "160 cm"], "pills")
    us, de = _attribute(s, "Layout", ["US", "DE"], "select")
    _, chairs = _template(s, {"name": "Office Chair", "list_price": 120.0, "standard_price": 60.0, "categ_id": furniture},
                          [[black, white, red]], ["CHAIR-BLK", "CHAIR-WHT", "CHAIR-RED"], {red: 10.0})
    _, desks = _template(s, {"name": "Standing Desk", "list_price": 450.0, "standard_price": 250.0, "categ_id": furniture},
                         [[s120, s140, s160]], ["DESK-120", "DESK-140", "DESK-160"], {s140: 50.0, s160: 100.0})
    _, (lamp,) = _template(s, {"name": "Desk Lamp", "list_price": 35.0, "standard_price": 12.0, "categ_id": lighting,
                               "barcode": "5400000000011"}, [], ["LAMP"])
    _, (arm,) = _template(s, {"name": "Monitor Arm", "list_price": 80.0, "categ_id": accessories,
                              "allow_out_of_stock_order": False}, [], ["ARM"])
    _, keyboards = _template(s, {"name": "Ergonomic Keyboard", "list_price": 95.0, "categ_id": accessories},
                             [[us, de]], ["KBD-US", "KBD-DE"])
    tray, _ = _template(s, {"name": "Cable Tray", "list_price": 25.0, "categ_id": accessories}, [], ["TRAY"])
    s.write("product.template", [tray], {"active": False})
    exec_desk, (executive,) = _template(s, {"name": "Executive Desk", "list_price": 1200.0, "categ_id": furniture},
                                        [], ["EXEC"])
    _, boards = _template(s, {"name": "Whiteboard", "list_price": 60.0, "categ_id": accessories},
                          [[white, black]], ["WB-WHT", "WB-BLK"])
    s.write("product.product", [boards[1]], {"active": False})

    deco = _company(s, "Deco Addict", "deco-addict", ["Douglas Fletcher", "Floyd Steward"], "BE")
    azure = _company(s, "Azure Interior", "azure-interior", ["Brandon Freeman", "Nicole Ford"], "US")
    gemini = _company(s, "Gemini Furniture", "gemini-furniture", ["Edwin Hansen"], "FR")
    _company(s, "Lumber Inc", "lumber-inc", ["Lorraine Douglas"], "US")
    s.create("res.partner", {"name": "Joel Willis", "email": "joel.willis@example.com", "customer_rank": 1})
    s.write("product.template", [exec_desk], {"x_allowed_partner_ids": [(6, 0, [deco])]})

    wholesale = s.create("product.pricelist", {"name": "Deco Addict Wholesale", "sequence": 10})
    _item(s, wholesale, compute_price="percentage", percent_price=10.0)
    _item(s, wholesale, compute_price="percentage", percent_price=20.0, min_quantity=10.0)
    _item(s, wholesale, applied_on="1_product", product_tmpl_id=_tmpl(s, lamp), fixed_price=29.0)
    contract = s.create("product.pricelist", {"name": "Azure Contract", "sequence": 11})
    _item(s, contract, applied_on="2_product_category", categ_id=furniture, compute_price="formula",
          price_discount=5.0, price_round=1.0, price_surcharge=-0.01)
    _item(s, contract, applied_on="0_product_variant", product_id=desks[1], fixed_price=399.0,
          date_start=ALWAYS[0], date_end=ALWAYS[1])
    _item(s, contract, applied_on="0_product_variant", product_id=desks[0], fixed_price=1.0,
          date_start=EXPIRED[0], date_end=EXPIRED[1])
    breaks = s.create("product.pricelist", {"name": "Gemini Quantity Breaks", "sequence": 12})
    for quantity, price in ((1.0, 110.0), (5.0, 100.0), (20.0, 90.0)):
        _item(s, breaks, applied_on="1_product", product_tmpl_id=_tmpl(s, chairs[0]), fixed_price=price,
              min_quantity=quantity)
    _item(s, breaks, compute_price="formula", base="pricelist", base_pricelist_id=1, price_discount=3.0)
    for partner, pricelist in ((deco, wholesale), (azure, contract), (gemini, breaks)):
        s.set_pricelist(partner, pricelist)

    stock, shelf = _location(s, "WH/Stock"), _location(s, "WH/Stock/Shelf 1")
    levels = {chairs[0]: 25, chairs[1]: 10, desks[0]: 5, desks[1]: 3, lamp: 100, arm: 0,
              keyboards[0]: 40, keyboards[1]: 12, executive: 2, boards[0]: 7}
    for product, quantity in levels.items():
        s.create("stock.quant", {"product_id": product, "location_id": stock, "quantity": float(quantity)})
    s.create("stock.quant", {"product_id": chairs[0], "location_id": shelf, "quantity": 5.0})


def _tmpl(s: _Seeder, variant: int) -> int:
    return int(s.db.models["product.product"].records[variant]["product_tmpl_id"])


def _company(s: _Seeder, name: str, domain: str, contacts: list[str], country: str) -> int:
    country_id = next(r["id"] for r in s.db.models["res.country"].records.values() if r["code"] == country)
    company = s.create("res.partner", {"name": name, "is_company": True, "email": f"info@{domain}.example",
                                       "customer_rank": 1, "country_id": country_id, "city": "Springfield",
                                       "street": "1 Main Street", "zip": "1000"})
    for contact in contacts:
        email = contact.lower().replace(" ", ".") + f"@{domain}.example"
        s.create("res.partner", {"name": contact, "parent_id": company, "email": email, "customer_rank": 1,
                                 "country_id": country_id})
    return company


def _item(s: _Seeder, pricelist: int, **vals: Any) -> int:
    return s.create("product.pricelist.item", {"pricelist_id": pricelist, **vals})


VARIANT_PATTERN = (1, 2, 3, 4, 6)


def seed_generated(s: _Seeder, variants: int) -> None:
    """``variants`` variants over generated templates, with companies, pricelists and stock in proportion."""
    categories = [_category(s, f"Category {i}") for i in range(8)]
    colors = _attribute(s, "Color", ["Black", "White", "Red", "Blue", "Green", "Grey"], "color")
    sizes = _attribute(s, "Size", ["S", "M"], "pills")
    stock = _location(s, "WH/Stock")
    companies = [_company(s, f"Customer {i:03d}", f"customer-{i:03d}", [f"Buyer {i:03d}", f"Clerk {i:03d}"], "BE")
                 for i in range(max(3, min(50, variants // 2000)))]
    pricelists = _generated_pricelists(s, categories)
    for index, company in enumerate(companies):
        s.set_pricelist(company, pricelists[index % len(pricelists)])
    made = 0
    number = 0
    while made < variants:
        count = min(VARIANT_PATTERN[number % len(VARIANT_PATTERN)], variants - made)
        lines = [colors[:3], sizes] if count == 6 else ([colors[:count]] if count > 1 else [])
        code = f"P{number:06d}"
        vals = {"name": f"Product {number:06d}", "list_price": float(5 + number * 37 % 995) + 0.5,
                "standard_price": float(2 + number * 13 % 400), "categ_id": categories[number % len(categories)],
                "allow_out_of_stock_order": number % 9 != 4}
        codes = [f"{code}-{j}" for j in range(count)] if count > 1 else [code]
        template, created = _template(s, vals, lines, codes, {colors[2]: 5.0} if count > 2 else None)
        for offset, variant in enumerate(created):
            quantity = float((made + offset) * 7 % 50)
            if quantity:
                s.create("stock.quant", {"product_id": variant, "location_id": stock, "quantity": quantity})
        if number % 25 == 11:
            s.write("product.template", [template], {"x_allowed_partner_ids": [companies[number % len(companies)]]})
        if number % 50 == 7:
            s.write("product.template", [template], {"active": False})
        elif count > 1 and number % 40 == 3:
            s.write("product.product", [created[-1]], {"active": False})
        if number % 100 == 5:
            for quantity, price in ((1.0, vals["list_price"] * 0.9), (10.0, vals["list_price"] * 0.8)):
                _item(s, pricelists[number % len(pricelists)], applied_on="1_product", product_tmpl_id=template,
                      fixed_price=round(price, 2), min_quantity=quantity)
        made += count
        number += 1


def _generated_pricelists(s: _Seeder, categories: list[int]) -> list[int]:
    percent = s.create("product.pricelist", {"name": "Wholesale 10%", "sequence": 10})
    _item(s, percent, compute_price="percentage", percent_price=10.0)
    _item(s, percent, compute_price="percentage", percent_price=15.0, min_quantity=20.0)
    formula = s.create("product.pricelist", {"name": "Contract Formula", "sequence": 11})
    _item(s, formula, applied_on="2_product_category", categ_id=categories[0], compute_price="formula",
          price_discount=5.0, price_round=1.0, price_surcharge=-0.01)
    _item(s, formula, compute_price="percentage", percent_price=3.0, date_start=ALWAYS[0], date_end=ALWAYS[1])
    _item(s, formula, compute_price="percentage", percent_price=50.0, date_start=EXPIRED[0], date_end=EXPIRED[1])
    chained = s.create("product.pricelist", {"name": "Partner Chained", "sequence": 12})
    _item(s, chained, compute_price="formula", base="pricelist", base_pricelist_id=percent, price_discount=2.0)
    return [percent, formula, chained]
