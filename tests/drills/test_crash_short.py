"""The short variants of the crash drill and the production topology drill, as CI runs them.

Each drill is a subprocess (``scripts/drill_crash.py --short``, ``scripts/drill_topology.py
--short``) building the production topology on a scratch PostgreSQL database of its own (named
with this process's id, created and dropped by the drill) next to ``TEST_DATABASE_URL``, and
Redis: it exits 0 only when every store order reached the fake Odoo exactly once (and, for the
topology, each cron tick ran once). They run in the PostgreSQL pass of the suite only (the
SQLite pass would pay for the same drills twice), and are skipped when PostgreSQL or Redis cannot
be reached, unless ``REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Each short drill ends well within this; the bound only stops a hung drill.
DRILL_TIMEOUT_SECONDS = 300


def _redis_answers() -> bool:
    async def ping() -> bool:
        redis = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        try:
            return bool(await redis.ping())
        except (RedisError, OSError):
            return False
        finally:
            await redis.aclose()

    return asyncio.run(ping())


@pytest.fixture(scope="module")
def drill_server() -> str:
    """The PostgreSQL server of the suite (its URL without a database), once Redis answers too."""
    required = os.environ.get("REQUIRE_POSTGRES") == "1"
    if not IS_POSTGRES:
        pytest.skip("the drills run in the PostgreSQL pass of the suite (TEST_DATABASE_URL=postgres://...)")
    if not _redis_answers():
        if required:
            pytest.fail(f"REQUIRE_POSTGRES=1 but Redis does not answer at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return TEST_DATABASE_URL


def _scratch_url(server_url: str, drill: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{drill}_{os.getpid()}"))


def run_drill(script: str, database_url: str) -> dict[str, Any]:
    """Run a drill's short variant; its JSON figures (the test fails with its output when it fails)."""
    command = [sys.executable, str(SCRIPTS / script), "--short", "--database-url", database_url,
               "--redis-url", REDIS_URL]
    env = {key: value for key, value in os.environ.items() if not key.startswith("ERPCOMMERCE_")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=DRILL_TIMEOUT_SECONDS, env=env)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}"
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def test_every_order_reaches_odoo_exactly_once_while_workers_are_killed(drill_server: str) -> None:
    figures = run_drill("drill_crash.py", _scratch_url(drill_server, "drill_crash"))
    assert figures["pass"] is True
    assert figures["orders"] == 100 and figures["kills"] == 5
    assert (figures["lost"], figures["duplicates"], figures["external_id_mismatches"]) == (0, 0, 0)


def test_two_servers_and_two_workers_run_each_tick_once_and_export_each_order_once(drill_server: str) -> None:
    figures = run_drill("drill_topology.py", _scratch_url(drill_server, "drill_topology"))
    assert figures["pass"] is True
    assert figures["orders"] > 0
    assert (figures["lost"], figures["duplicates"], figures["external_id_mismatches"]) == (0, 0, 0)
    assert figures["tick_job_runs_done"] == figures["ticks_expected"] == 2
    assert figures["ticks_missing_or_not_once"] == [] and figures["ticks_duplicated"] == []
