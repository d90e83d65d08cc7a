"""The short drift drill, as CI runs it: randomized changes in the fake Odoo, delta syncs, and
``erpcommerce reconcile`` finding 0 differences after each round.

The drill is a subprocess (``scripts/drill_drift.py --short``) with its own fake Odoo, server and
store: a temp SQLite file, or — in the PostgreSQL pass of the suite — a scratch database the drill
creates next to ``TEST_DATABASE_URL`` and drops at the end (the suite's own database is never
touched).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "drill_drift.py"
# The short drill ends well within this; the bound only stops a hung drill.
DRILL_TIMEOUT_SECONDS = 300


def test_the_short_drift_drill_reconciles_to_zero_differences_every_round() -> None:
    command = [sys.executable, str(SCRIPT), "--short"]
    if IS_POSTGRES:
        command += ["--database-url", TEST_DATABASE_URL]
    done = subprocess.run(command, capture_output=True, text=True, timeout=DRILL_TIMEOUT_SECONDS,
                          cwd=SCRIPT.parent)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    report = json.loads(lines[-1])
    assert done.returncode == 0 and report["ok"], (report, done.stderr[-3000:])
    assert report["differences_per_round"] == [0] * (report["rounds"] + 1)
    assert report["changes_applied"] >= report["rounds"]
    assert report["checked"]["products"] > 0 and report["checked"]["orders"] > 0
