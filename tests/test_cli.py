"""The ``erpcommerce`` console script, run for real in a subprocess on a temporary SQLite store."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import SAMPLE_JWT_SECRET

CONSOLE_SCRIPT = Path(sys.executable).with_name("erpcommerce")
COMMAND_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Workspace:
    """A directory with its own config.toml and SQLite database, where commands run."""

    root: Path
    port: int
    env: dict[str, str]

    @property
    def database(self) -> Path:
        return self.root / "store" / "erpcommerce.db"

    @property
    def credentials(self) -> Path:
        return self.root / "data" / "credentials.json"

    def write_config(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONSOLE_SCRIPT), *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )


def development_config(database: str, port: int) -> str:
    return (
        f'[server]\nenvironment = "development"\nport = {port}\n'
        f'[database]\nurl = "sqlite://{database}"\n'
        f'[auth]\njwt_secret = "{SAMPLE_JWT_SECRET}"\n'
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("ERPCOMMERCE_")}
    space = Workspace(tmp_path, free_port(), env)
    space.write_config("config.toml", development_config("store/erpcommerce.db", space.port))
    return space


def assert_one_line_error(result: subprocess.CompletedProcess[str], exit_code: int, *fragments: str) -> None:
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("erpcommerce:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# -------------------------------------------------------------------------------------------------
# migrate
# -------------------------------------------------------------------------------------------------


def test_migrate_applies_the_migrations_then_reports_up_to_date(workspace: Workspace) -> None:
    first = workspace.run("migrate")
    assert first.returncode == 0, first.stderr
    assert "applied commerce.0001_initial" in first.stdout
    assert workspace.database.exists()

    second = workspace.run("migrate")
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


def test_python_dash_m_core_runs_the_same_cli(workspace: Workspace) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core", "migrate"],
        cwd=workspace.root,
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "applied commerce.0001_initial" in result.stdout


@pytest.mark.parametrize("position", ["before", "after"])
def test_config_option_is_accepted_before_or_after_the_command(workspace: Workspace, position: str) -> None:
    workspace.write_config("other.toml", development_config("other/elsewhere.db", workspace.port))
    options = ["--config", "other.toml"]
    args = [*options, "migrate"] if position == "before" else ["migrate", *options]
    result = workspace.run(*args)
    assert result.returncode == 0, result.stderr
    assert (workspace.root / "other" / "elsewhere.db").exists()
    assert not workspace.database.exists()


def test_logs_go_to_stderr_as_key_value_lines(workspace: Workspace) -> None:
    result = workspace.run("migrate", "--log-level", "info")
    assert 'msg="migration applied"' in result.stderr
    assert "migration=commerce.0001_initial" in result.stderr
    assert "level=info" in result.stderr


# -------------------------------------------------------------------------------------------------
# Bad configuration
# -------------------------------------------------------------------------------------------------


def test_bad_config_value_exits_2_naming_the_key(workspace: Workspace) -> None:
    workspace.write_config("config.toml", '[server]\nport = "abc"\n')
    assert_one_line_error(workspace.run("migrate"), 2, "server.port")


def test_unknown_config_key_exits_2_naming_the_key(workspace: Workspace) -> None:
    workspace.write_config("config.toml", "[database]\nurll = 1\n")
    assert_one_line_error(workspace.run("plugins"), 2, "database.urll", "unknown key")


def test_bad_environment_override_exits_2_naming_the_key(workspace: Workspace) -> None:
    result = workspace.run("migrate", env={"ERPCOMMERCE_SERVER__PORT": "not-a-port"})
    assert_one_line_error(result, 2, "server.port")


def test_missing_config_file_exits_2(workspace: Workspace) -> None:
    assert_one_line_error(workspace.run("--config", "nowhere.toml", "migrate"), 2, "nowhere.toml")


def test_serve_refuses_the_sample_secret_in_production(workspace: Workspace) -> None:
    workspace.write_config("config.toml", f'[auth]\njwt_secret = "{SAMPLE_JWT_SECRET}"\n')
    assert_one_line_error(workspace.run("serve"), 2, "auth.jwt_secret")


def test_migrate_does_not_need_a_real_secret(workspace: Workspace) -> None:
    workspace.write_config("config.toml", '[database]\nurl = "sqlite://store/erpcommerce.db"\n')
    assert workspace.run("migrate").returncode == 0


def test_unknown_log_level_exits_2(workspace: Workspace) -> None:
    assert_one_line_error(workspace.run("migrate", "--log-level", "loud"), 2, "log_level")


# -------------------------------------------------------------------------------------------------
# seed
# -------------------------------------------------------------------------------------------------


def read_credentials(workspace: Workspace) -> dict[str, str]:
    return json.loads(workspace.credentials.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_seed_writes_private_credentials(workspace: Workspace) -> None:
    result = workspace.run("seed")
    assert result.returncode == 0, result.stderr
    credentials = read_credentials(workspace)
    assert set(credentials) == {"base_url", "publishable_api_key", "admin_email", "admin_password"}
    assert credentials["base_url"] == f"http://127.0.0.1:{workspace.port}"
    assert credentials["publishable_api_key"].startswith("pk_")
    assert credentials["admin_email"] == "admin@example.com"
    assert stat.S_IMODE(workspace.credentials.stat().st_mode) == 0o600
    for value in credentials.values():
        assert value in result.stdout
    assert "20 products" in result.stdout


def test_seed_twice_keeps_the_key_and_the_password(workspace: Workspace) -> None:
    assert workspace.run("seed").returncode == 0
    first = read_credentials(workspace)
    second_run = workspace.run("seed")
    assert second_run.returncode == 0, second_run.stderr
    assert read_credentials(workspace) == first
    assert "created: nothing" in second_run.stdout


def test_seed_into_another_data_dir(workspace: Workspace) -> None:
    result = workspace.run("seed", "--data-dir", "elsewhere")
    assert result.returncode == 0, result.stderr
    assert (workspace.root / "elsewhere" / "credentials.json").exists()


def test_seed_without_credentials_file_resets_the_admin_password_and_says_so(workspace: Workspace) -> None:
    assert workspace.run("seed").returncode == 0
    first = read_credentials(workspace)
    workspace.credentials.unlink()
    result = workspace.run("seed")
    assert result.returncode == 0, result.stderr
    second = read_credentials(workspace)
    assert "reset" in result.stdout
    assert second["admin_password"] != first["admin_password"]
    assert second["publishable_api_key"] == first["publishable_api_key"]


# -------------------------------------------------------------------------------------------------
# admin create-user, plugins
# -------------------------------------------------------------------------------------------------


def test_admin_create_user_then_duplicate_exits_1(workspace: Workspace) -> None:
    args = ("admin", "create-user", "--email", "ops@example.com", "--password", "long-enough-1")
    created = workspace.run(*args)
    assert created.returncode == 0, created.stderr
    assert "ops@example.com" in created.stdout
    assert_one_line_error(workspace.run(*args), 1, "already exists")


def test_admin_create_user_with_short_password_exits_1(workspace: Workspace) -> None:
    result = workspace.run("admin", "create-user", "--email", "ops@example.com", "--password", "short")
    assert_one_line_error(result, 1, "at least 8 characters")


def test_admin_create_user_never_logs_the_password(workspace: Workspace) -> None:
    password = "never-in-the-logs-42"
    result = workspace.run(
        "--log-level", "debug", "admin", "create-user", "--email", "ops@example.com", "--password", password
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stderr
    assert "scrypt$" not in result.stderr


def test_plugins_lists_core_defaults_and_their_hooks(workspace: Workspace) -> None:
    result = workspace.run("plugins")
    assert result.returncode == 0, result.stderr
    assert "core.pricing (built in)" in result.stdout
    assert "hooks: price_line_items" in result.stdout


# -------------------------------------------------------------------------------------------------
# serve
# -------------------------------------------------------------------------------------------------


def wait_for_health(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"server exited with {process.returncode}: {stderr}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def test_serve_migrates_answers_health_and_stops_on_sigterm(workspace: Workspace) -> None:
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "serve", "--port", str(workspace.port)],
        cwd=workspace.root,
        env=workspace.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for_health(f"http://127.0.0.1:{workspace.port}/health", process) == {"status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{workspace.port}/openapi.json", timeout=5) as response:
            assert json.loads(response.read())["openapi"] == "3.1.0"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert 'msg="server started"' in stderr
    assert 'msg="server stopped"' in stderr
    assert "Traceback" not in stderr
