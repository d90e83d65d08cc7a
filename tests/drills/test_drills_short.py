"""The short variants of the webhook, fuzz, concurrency, authz and ERP-fault drills, as CI runs them.

Each drill is a subprocess (``scripts/drill_<name>.py --short``) starting real servers on a
database of its own: a SQLite file in a temp dir, or, in the PostgreSQL pass of the suite, a
scratch database created next to ``TEST_DATABASE_URL`` and dropped by the drill. It exits 0 only
when every assertion held; its JSON line of figures is checked here too. To keep the suite's time
in bounds (about 2 minutes for the whole set on 2 cores), the quick drills (concurrency, authz) run
in both passes, the ERP-fault drill in the SQLite pass, the fuzz and webhook drills (whose NUL
characters only PostgreSQL refuses) in the PostgreSQL pass; every drill runs on either database by
hand (``--database-url``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IS_POSTGRES

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# Each short drill ends well within this; the bound only stops a hung drill.
DRILL_TIMEOUT_SECONDS = 300


def run_drill(script: str) -> dict[str, Any]:
    """Run a drill's short variant on the suite's database; its JSON figures (the test fails with
    its output when it fails)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ERPCOMMERCE_")}
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--short"],
        capture_output=True, text=True, timeout=DRILL_TIMEOUT_SECONDS, env=env,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}"
    figures: dict[str, Any] = json.loads(lines[-1])
    assert figures["ok"] is True and figures["violations"] == []
    assert figures["database"] == ("postgres" if IS_POSTGRES else "sqlite")
    return figures


def test_parallel_adds_stay_consistent_and_parallel_completions_make_one_order() -> None:
    figures = run_drill("drill_concurrency.py")
    assert figures["server_errors"] == 0
    assert figures["statuses"]["add_200"] > 0 and figures["statuses"]["complete_200"] > 0


def test_admin_routes_need_an_admin_customers_see_only_their_own_and_logs_keep_secrets() -> None:
    figures = run_drill("drill_authz.py")
    assert figures["admin_routes"] >= figures["admin_routes_in_openapi"] > 0
    assert figures["debug_log_lines"] > 0
    assert set(figures["secret_occurrences_in_log"].values()) == {0}


@pytest.mark.skipif(IS_POSTGRES, reason="runs in the SQLite pass of the suite")
def test_erp_faults_lose_no_order_fail_carts_closed_and_resume_the_sync() -> None:
    figures = run_drill("drill_erp_faults.py")
    assert figures["sync"]["pages_read_again"] == 0 and figures["sync"]["sync_state"] == "succeeded"
    assert figures["fail_closed"]["statuses"] == {"503": figures["fail_closed"]["calls"]}
    orders = figures["orders"]
    assert (orders["lost"], orders["duplicated"], orders["reached_once"]) == (0, 0, orders["orders"])


@pytest.mark.skipif(not IS_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
def test_schemathesis_finds_no_server_error_and_no_schema_violation() -> None:
    figures = run_drill("drill_fuzz.py")
    assert figures["requests"] > 0 and (figures["server_errors"], figures["schema_violations"]) == (0, 0)


@pytest.mark.skipif(not IS_POSTGRES, reason="runs in the PostgreSQL pass of the suite")
def test_bad_stale_and_malformed_webhooks_have_no_effect_and_a_replay_has_one() -> None:
    figures = run_drill("drill_webhook.py")
    for form in ("token", "signed"):
        assert (figures[form]["server_errors"], figures[form]["accepted"], figures[form]["effects"]) == (0, 0, 0)
        assert figures[form]["replay"]["runs"] == figures[form]["replay"]["orders_changed"] == 1
