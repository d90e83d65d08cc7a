"""``erpcommerce reconcile`` on the command line, against a migrated database and the fake ERP:
exit 0 when in step, 1 with the differences, 2 when the ERP cannot be reached."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import cli
from erpcommerce_erp import reconcile_command
from tests.cli_support import cli_terminal  # noqa: F401 - a fixture
from tests.cli_support import emptied, run_cli, write_erp_config
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.product_sync_support import catalogue, shirt


@pytest.fixture(autouse=True)
def _cli(cli_terminal: None) -> None:
    """Every test here runs the CLI in this process."""


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> str:
    return write_erp_config(tmp_path, emptied(database_url))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeErp:
    fake = FakeErp(products=catalogue())
    monkeypatch.setattr(cli, "SYNC_EXTRA_PLUGINS", (fake,))
    monkeypatch.setattr(reconcile_command, "EXTRA_PLUGINS", (fake,))
    return fake


def synced(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "sync", "products", "--config", config)
    assert code == 0, err


def test_a_store_in_step_with_the_erp_exits_0(config: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]) -> None:
    synced(config, capsys)
    code, out, err = run_cli(capsys, "reconcile", "--json", "--config", config)
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    assert (report["ok"], report["differences"], report["items"]) == (True, 0, [])
    assert report["checked"] == {"products": 3, "variants": 5, "prices": 3}
    assert report["parts"] == ["products", "stock", "orders"]


def test_differences_exit_1_with_a_table(config: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]) -> None:
    synced(config, capsys)
    fake.products[0] = shirt(title="Shirt v2")
    code, out, _ = run_cli(capsys, "reconcile", "--products", "--config", config)
    assert code == 1
    assert "Reconcile: 1 difference(s)" in out
    assert "product.field" in out and "Shirt v2" in out


def test_json_lists_at_most_the_limit_and_counts_all(
    config: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(config, capsys)
    fake.products = []
    code, out, _ = run_cli(capsys, "reconcile", "--products", "--json", "--limit-report", "1", "--config", config)
    assert code == 1
    report = json.loads(out)
    assert report["by_kind"] == {"product.missing_in_erp": 3}
    assert len(report["items"]) == 1 and report["truncated"] == 2


def test_an_unreachable_erp_exits_2_with_a_clear_message(
    config: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.down = True
    code, out, err = run_cli(capsys, "reconcile", "--json", "--config", config)
    assert code == 2
    assert "erpcommerce: reconcile: cannot compare with FakeERP: FakeERP could not be reached (list_price_changes)" in err
    assert json.loads(out)["ok"] is False


def test_no_erp_client_exits_2(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "reconcile", "--config", config)
    assert code == 2
    assert "no ERP client is configured" in err
