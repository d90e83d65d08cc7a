"""A real @medusajs/js-sdk storefront against the real server.

Seeds a database with ``erpcommerce seed``, starts ``erpcommerce serve`` as a subprocess on a free
port, and runs ``tests/sdk/storefront_flow.mjs`` (the flow of the Store API contract, reference §6)
with Node. The npm dependencies are installed on first use; the test is skipped only when Node or
npm is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

pytestmark = pytest.mark.sdk

SDK_DIR = Path(__file__).parent / "sdk"
FLOW_SCRIPT = SDK_DIR / "storefront_flow.mjs"
START_TIMEOUT_S = 30.0
FLOW_TIMEOUT_S = 120.0
NPM_TIMEOUT_S = 300.0


def _erpcommerce_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m core``."""
    script = Path(sys.executable).with_name("erpcommerce")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "core"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_environment() -> dict[str, str]:
    """This process's environment without ``ERPCOMMERCE_*`` overrides, so the config file rules."""
    return {name: value for name, value in os.environ.items() if not name.upper().startswith("ERPCOMMERCE_")}


async def _run(command: list[str], *, cwd: Path, timeout: float, env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` to the end; return its exit code and its combined output."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{' '.join(command)} did not finish within {timeout:.0f} s") from None
    return process.returncode or 0, output.decode(errors="replace")


@pytest.fixture
async def node() -> str:
    """The ``node`` executable, with tests/sdk's npm dependencies installed (skips without Node/npm)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "node and npm are required to drive the server with @medusajs/js-sdk (apt-get install nodejs npm)"
        )
    if not (SDK_DIR / "node_modules" / "@medusajs" / "js-sdk").is_dir():
        install = "ci" if (SDK_DIR / "package-lock.json").exists() else "install"
        code, output = await _run(
            [npm, install, "--no-audit", "--no-fund"],
            cwd=SDK_DIR,
            timeout=NPM_TIMEOUT_S,
            env=dict(os.environ),
        )
        assert code == 0, f"npm {install} failed in {SDK_DIR}:\n{output[-3000:]}"
    return node


def _write_config(directory: Path, database_url: str, port: int) -> Path:
    config = directory / "config.toml"
    config.write_text(
        "[server]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        'environment = "development"\n'
        "[database]\n"
        f"url = {json.dumps(database_url)}\n"
        "[auth]\n"
        'jwt_secret = "sdk-test-secret-0123456789abcdef-0123456789abcdef"\n'
    )
    return config


async def _wait_until_healthy(base_url: str, server: asyncio.subprocess.Process, log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            if server.returncode is not None:
                raise AssertionError(
                    f"the server exited with {server.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                async with session.get(f"{base_url}/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(
        f"the server did not answer /health within {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}"
    )


async def _stop(server: asyncio.subprocess.Process) -> None:
    if server.returncode is not None:
        return
    server.terminate()
    try:
        await asyncio.wait_for(server.wait(), 10)
    except TimeoutError:
        server.kill()
        await server.wait()


@pytest.fixture
async def running_server(db: None, database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """A seeded ``erpcommerce serve`` on a free port; yields the credentials with the real base URL.

    ``db`` gives an empty migrated database (a fresh SQLite copy, or truncated PostgreSQL tables).
    """
    port = _free_port()
    config = _write_config(tmp_path, database_url, port)
    env = _clean_environment()
    cli = [*_erpcommerce_command(), "--config", str(config)]
    code, output = await _run([*cli, "seed", "--data-dir", str(tmp_path)], cwd=tmp_path, timeout=60, env=env)
    assert code == 0, f"erpcommerce seed failed:\n{output[-3000:]}"
    credentials_path = tmp_path / "credentials.json"
    credentials = json.loads(credentials_path.read_text())
    assert credentials["publishable_api_key"]

    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        server = await asyncio.create_subprocess_exec(
            *cli, "serve", "--port", str(port), cwd=tmp_path, env=env, stdout=log_file, stderr=log_file
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_healthy(base_url, server, log)
        yield {**credentials, "base_url": base_url, "path": credentials_path, "log": log}
    finally:
        await _stop(server)


async def test_js_sdk_storefront_flow_completes_an_order_and_signs_up(
    node: str, running_server: dict[str, Any]
) -> None:
    code, output = await _run(
        [
            node,
            str(FLOW_SCRIPT),
            "--credentials",
            str(running_server["path"]),
            "--base-url",
            running_server["base_url"],
        ],
        cwd=SDK_DIR,
        timeout=FLOW_TIMEOUT_S,
        env=_clean_environment(),
    )
    lines = [line for line in output.splitlines() if line.startswith("{")]
    server_log = running_server["log"].read_text()[-3000:]
    assert lines, (
        f"the storefront flow printed no summary (exit {code}):\n{output[-3000:]}\nserver:\n{server_log}"
    )
    summary = json.loads(lines[-1])
    assert code == 0 and summary["ok"], (
        f"storefront flow failed: {json.dumps(summary, indent=1)}\nserver:\n{server_log}"
    )
    assert summary["sdk_version"].startswith("2.21.")
    assert summary["order_id"].startswith("order_")
    assert summary["customer_id"].startswith("cus_")
    errors = [line for line in running_server["log"].read_text().splitlines() if "level=error" in line]
    assert not errors, "the server logged errors during the flow:\n" + "\n".join(errors[-20:])
