"""``erpcommerce sync NAME [--full] [--dry-run]`` against a real (migrated) database and a fake ERP."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import cli
from core.models import Product, SyncRun, WorkflowRunRecord
from tests.plugins.erp.fake_erp import FakeErp
from tests.plugins.erp.product_sync_support import catalogue
from tests.cli_support import cli_terminal  # noqa: F401 - a fixture
from tests.cli_support import emptied, in_database, run_cli, write_erp_config


@pytest.fixture(autouse=True)
def _cli(cli_terminal: None) -> None:
    """Every test here runs the CLI in this process."""


@pytest.fixture
def database(database_url: str) -> str:
    return emptied(database_url)


@pytest.fixture
def config(tmp_path: Path, database: str) -> str:
    return write_erp_config(tmp_path, database)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeErp:
    fake = FakeErp(products=catalogue())
    monkeypatch.setattr(cli, "SYNC_EXTRA_PLUGINS", (fake,))
    return fake


def table_rows(out: str) -> dict[str, list[str]]:
    """The summary table's rows by their first cell."""
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.replace("┃", "│").split("│")[1:-1]]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def products_in(database: str) -> list[str]:
    async def read() -> list[str]:
        return sorted(await Product.all().values_list("external_id", flat=True))

    result: list[str] = in_database(database, read)
    return result


def test_sync_products_shows_progress_and_a_summary(
    config: str, database: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "sync", "products", "--config", config)

    assert code == 0, err
    assert "Sync products succeeded" in out
    rows = table_rows(out)
    assert rows["stream"] == ["pages", "seen", "created", "updated", "unchanged", "archived", "failed", "skipped"]
    assert rows["products"] == ["2", "3", "3", "0", "0", "0", "0", "0"]
    assert rows["total"] == ["4", "3", "3", "0", "0", "0", "0", "0"]
    assert "products:products  None -> 3" in out
    assert "products done" in err and "3/3" in err  # the progress bar
    assert products_in(database) == ["P1", "P2", "P3"]
    assert fake.calls["list_products"] == 2


def test_sync_dry_run_writes_nothing(
    config: str, database: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "sync", "products", "--dry-run", "--full", "--config", config)

    assert code == 0
    assert "Sync products succeeded (dry run: nothing written)" in out
    assert products_in(database) == []


def test_sync_of_an_unknown_name_lists_the_known_ones(
    config: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "sync", "customers", "--config", config)

    assert code == 1
    assert "erpcommerce: No sync named 'customers' (known: products)" in err


def test_sync_fails_with_exit_1_when_the_erp_is_down(
    config: str, database: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.down = True

    code, out, err = run_cli(capsys, "sync", "products", "--config", config)

    assert code == 1
    assert "Sync products failed" in out
    assert "erpcommerce: sync products failed: ErpUnavailable: FakeERP could not be reached (list_products)" in err
    assert fake.calls["list_products"] == 2

    async def state() -> str:
        return (await SyncRun.get()).state

    assert in_database(database, state) == "failed"


def test_sync_is_refused_while_another_runs(
    config: str, database: str, fake: FakeErp, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed() -> None:
        await WorkflowRunRecord.create(id="sync:products:other", workflow_name="sync-products-from-erp",
                                       state="invoking")

    in_database(database, seed)

    code, _, err = run_cli(capsys, "sync", "products", "--config", config)

    assert code == 1
    assert "A products sync is already running (run sync:products:other, invoking)" in err
    assert fake.calls["list_products"] == 0
