"""Odoo 17/18 for erpcommerce: an ERP client over Odoo's JSON-RPC external API, and a fake Odoo.

- :mod:`erpcommerce_odoo.client`: the :class:`~erpcommerce_erp.contract.ErpClient` for Odoo;
- :mod:`erpcommerce_odoo.plugin`: the ``odoo`` plugin (``[plugins.odoo]`` settings, ``erp_client()``);
- :mod:`erpcommerce_odoo.fake_odoo`: a fake Odoo server faithful enough for real Odoo clients
  (``python -m erpcommerce_odoo.fake_odoo --port 8069 --seed demo``).
"""
