"""``erpcommerce runs``, ``runs show RUN_ID`` and ``retry RUN_ID`` against a real (migrated) database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tortoise import Tortoise

from core.cli import main
from core.config import DatabaseSettings
from core.db import init_database
from core.models import WorkflowRunRecord, WorkflowStepRecord
from tests.cli_support import cli_terminal  # noqa: F401 - a fixture

CONSOLE_SCRIPT = Path(sys.executable).with_name("erpcommerce")
BASE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _cli(cli_terminal: None) -> None:
    """Every test here runs the CLI in this process."""


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[server]\nenvironment = "development"\n[database]\nurl = "{database_url}"\n'
        '[auth]\njwt_secret = "test-secret-0123456789abcdef-0123456789"\n',
        encoding="utf-8",
    )
    return str(path)


async def _seed(database_url: str) -> None:
    await init_database(DatabaseSettings(url=database_url))
    try:
        await WorkflowStepRecord.all().delete()
        await WorkflowRunRecord.all().delete()
        await WorkflowRunRecord.create(
            id="event:evt_1:audit", workflow_name="deliver-event", state="done", attempts=1,
            input={"event_id": "evt_1"}, created_at=BASE, finished_at=BASE + timedelta(seconds=1),
        )
        failed = await WorkflowRunRecord.create(
            id="sync-order:order_7", workflow_name="sync-order-to-erp", state="failed", attempts=2,
            input={"order_id": "order_7"}, error="ErpUnavailable: odoo is down\nmore detail",
            error_traceback="Traceback (most recent call last):\n  boom", created_at=BASE + timedelta(minutes=1),
            finished_at=BASE + timedelta(minutes=2),
        )
        await WorkflowRunRecord.create(
            id="job:sync-products:2026-03-02T10:05", workflow_name="scheduled-job", state="pending",
            created_at=BASE + timedelta(minutes=5),
        )
        await WorkflowRunRecord.create(
            id="event:evt_2:audit", workflow_name="deliver-event", state="reverted", attempts=1,
            error="PermanentError: refused", created_at=BASE + timedelta(minutes=3), finished_at=BASE,
        )
        started = BASE + timedelta(minutes=1)
        steps = [
            (1, "reserve-stock", "invoke", None, "reverted", 1, None, 0.25),
            (2, "create-erp-order", "invoke", None, "failed", 4, "ErpUnavailable: odoo is down", 3.5),
            (3, "reserve-stock", "compensate", 1, "compensation_failed", 3, "ValueError: stock gone", 0.1),
        ]
        for seq, name, kind, compensates, state, attempts, error, seconds in steps:
            await WorkflowStepRecord.create(
                run=failed, seq=seq, name=name, kind=kind, compensates_seq=compensates, state=state,
                attempts=attempts, error=error, started_at=started, finished_at=started + timedelta(seconds=seconds),
            )
    finally:
        await Tortoise.close_connections()


async def _state_of(database_url: str, run_id: str) -> str:
    await init_database(DatabaseSettings(url=database_url))
    try:
        return (await WorkflowRunRecord.get(id=run_id)).state
    finally:
        await Tortoise.close_connections()


@pytest.fixture
def seeded(database_url: str) -> str:
    asyncio.run(_seed(database_url))
    return database_url


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ids_in(out: str) -> list[str]:
    known = ["job:sync-products:2026-03-02T10:05", "event:evt_2:audit", "sync-order:order_7", "event:evt_1:audit"]
    return sorted((run_id for run_id in known if run_id in out), key=out.index)


def test_runs_lists_newest_first(seeded: str, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "runs", "--config", config)
    assert code == 0
    assert ids_in(out) == [
        "job:sync-products:2026-03-02T10:05", "event:evt_2:audit", "sync-order:order_7", "event:evt_1:audit"
    ]
    assert "Workflow runs (4, newest first)" in out
    assert "ErpUnavailable: odoo is down" in out
    assert "more detail" not in out  # only the error's first line


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--state", "failed"], ["sync-order:order_7"]),
        (["--failed"], ["event:evt_2:audit", "sync-order:order_7"]),
        (["--workflow", "deliver-event"], ["event:evt_2:audit", "event:evt_1:audit"]),
        (["--workflow", "deliver-event", "--state", "done"], ["event:evt_1:audit"]),
        (["--limit", "2"], ["job:sync-products:2026-03-02T10:05", "event:evt_2:audit"]),
    ],
)
def test_runs_filters(
    seeded: str, config: str, capsys: pytest.CaptureFixture[str], options: list[str], expected: list[str]
) -> None:
    code, out, _ = run_cli(capsys, "runs", "--config", config, *options)
    assert code == 0
    assert ids_in(out) == expected


def test_runs_with_no_match_says_so(seeded: str, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "runs", "--config", config, "--state", "canceled")
    assert (code, out.strip()) == (0, "no workflow runs match")


@pytest.mark.parametrize("options", [["--state", "broken"], ["--limit", "0"], ["--limit", "x"]])
def test_runs_rejects_bad_options(config: str, capsys: pytest.CaptureFixture[str], options: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["runs", "--config", config, *options])
    assert raised.value.code == 2


def test_runs_show_prints_fields_steps_and_compensations(
    seeded: str, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "runs", "show", "sync-order:order_7", "--config", config)
    assert code == 0
    assert "Run sync-order:order_7" in out
    for text in ("sync-order-to-erp", "failed", '"order_id": "order_7"', "ErpUnavailable: odoo is down"):
        assert text in out
    steps, compensations = out.split("Compensations")
    assert "reserve-stock" in steps and "create-erp-order" in steps
    assert "250.0 ms" in steps and "3.50 s" in steps
    create_line = next(line for line in steps.splitlines() if "create-erp-order" in line)
    assert "invoke" in create_line and "failed" in create_line and " 4 " in create_line
    compensation_line = next(line for line in compensations.splitlines() if "reserve-stock" in line)
    for text in ("#1", "compensation_failed", "ValueError: stock gone", "100.0 ms"):
        assert text in compensation_line
    assert "Traceback (most recent call last)" in out


def test_runs_show_of_a_run_without_steps(seeded: str, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "runs", "show", "event:evt_1:audit", "--config", config)
    assert code == 0
    assert "no steps recorded" in out and "Compensations" not in out


def test_runs_show_of_an_unknown_run_fails(seeded: str, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "runs", "show", "nope", "--config", config)
    assert (code, out) == (1, "")
    assert err.strip() == "erpcommerce: Workflow run with id: nope was not found"


@pytest.mark.parametrize("run_id", ["sync-order:order_7", "event:evt_2:audit"])
def test_retry_puts_a_failed_or_reverted_run_back_to_pending(
    seeded: str, config: str, capsys: pytest.CaptureFixture[str], run_id: str
) -> None:
    code, out, _ = run_cli(capsys, "retry", run_id, "--config", config)
    assert code == 0
    assert f"run {run_id} is pending again: the server's embedded runner will pick it up" in out
    assert asyncio.run(_state_of(seeded, run_id)) == "pending"


@pytest.mark.parametrize(
    ("run_id", "state"), [("event:evt_1:audit", "done"), ("job:sync-products:2026-03-02T10:05", "pending")]
)
def test_retry_refuses_runs_that_did_not_fail(
    seeded: str, config: str, capsys: pytest.CaptureFixture[str], run_id: str, state: str
) -> None:
    code, out, err = run_cli(capsys, "retry", run_id, "--config", config)
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"erpcommerce: Workflow run {run_id} is {state}: only failed, reverted or canceled runs can be retried"
    )
    assert asyncio.run(_state_of(seeded, run_id)) == state


def test_retry_of_an_unknown_run_fails(seeded: str, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "retry", "nope", "--config", config)
    assert code == 1
    assert err.strip() == "erpcommerce: Workflow run with id: nope was not found"


def test_console_script_lists_failed_runs(seeded: str, config: str) -> None:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "runs", "--failed", "--config", config],
        capture_output=True, text=True, timeout=60, check=False, env={"COLUMNS": "220", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert ids_in(done.stdout) == ["event:evt_2:audit", "sync-order:order_7"]
