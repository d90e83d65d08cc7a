"""``session_info``: what the web login and ``/web/session/get_session_info`` answer."""

from __future__ import annotations

from typing import Any

from .registry import Database
from .services import version_info

__all__ = [
    "session_info",
]


def session_info(db: Database, uid: int) -> dict[str, Any]:
    """Odoo's ``ir.http.session_info()`` for user ``uid`` (the keys clients read)."""
    user = db.models["res.users"].records[uid]
    partners = db.models["res.partner"]
    partner = partners.records.get(user.get("partner_id") or 0)
    companies = db.models["res.company"].records
    allowed = user.get("company_ids") or [user["company_id"]]
    currencies = db.models["res.currency"].records
    version = version_info(db.version)
    return {
        "uid": uid,
        "is_system": uid == 2,
        "is_admin": uid == 2,
        "is_public": False,
        "name": user["name"],
        "username": user["login"],
        "partner_id": user.get("partner_id") or False,
        "partner_display_name": partners.display_name_of(partner) if partner else False,
        "db": db.name,
        "server_version": version["server_version"],
        "server_version_info": version["server_version_info"],
        "user_context": {"lang": user.get("lang") or "en_US", "tz": user.get("tz") or False, "uid": uid},
        "user_companies": {
            "current_company": user["company_id"],
            "allowed_companies": {
                str(cid): {"id": cid, "name": companies[cid]["name"], "sequence": companies[cid]["sequence"]}
                for cid in allowed if cid in companies
            },
        },
        "currencies": {
            str(cid): {"symbol": cur["symbol"], "position": cur["position"], "digits": [69, cur["decimal_places"]]}
            for cid, cur in currencies.items() if cur["active"]
        },
        "web.base.url": "http://localhost:8069",
        "support_url": "https://www.odoo.com/help",
        "home_action_id": False,
    }
