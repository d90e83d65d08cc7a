"""Configuration: config.toml, environment overrides, validation naming the key, secrets policy."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from core.config import SAMPLE_JWT_SECRET, DatabaseSettings, Settings, load_settings
from core.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"
STRONG_SECRET = "a-real-secret-of-enough-length-0123"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No ERPCOMMERCE_* variable from the outside, and a working directory without config.toml."""
    for name in list(os.environ):
        if name.upper().startswith("ERPCOMMERCE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_environment_variable_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path / "c.toml", '[server]\nport = 9001\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("ERPCOMMERCE_SERVER__PORT", "9100")
    settings = load_settings(config, check_secrets=False)
    assert settings.server.port == 9100
    assert settings.server.host == "0.0.0.0"  # the rest of the section still comes from the file


def test_environment_variable_sets_nested_job_and_plugin_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERPCOMMERCE_JOBS__NIGHTLY__ENABLED", "false")
    monkeypatch.setenv("ERPCOMMERCE_PLUGINS__ODOO__URL", "http://odoo.test")
    settings = load_settings(check_secrets=False)
    assert settings.jobs["nightly"].enabled is False
    assert settings.plugins["odoo"] == {"url": "http://odoo.test"}


def test_bad_value_names_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", '[server]\nport = "nine"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, check_secrets=False)
    assert caught.value.key == "server.port"
    assert "server.port" in str(caught.value)


def test_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERPCOMMERCE_SERVER__PORT", "70000")
    with pytest.raises(ConfigError) as caught:
        load_settings(check_secrets=False)
    assert caught.value.key == "server.port"


@pytest.mark.parametrize(
    ("text", "key"),
    [("[server]\nbogus = 1\n", "server.bogus"), ("[nonsense]\nx = 1\n", "nonsense")],
)
def test_unknown_key_is_refused(tmp_path: Path, text: str, key: str) -> None:
    config = write_config(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, check_secrets=False)
    assert caught.value.key == key
    assert "unknown key" in str(caught.value)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", "[server\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(config)


def test_sample_secret_is_refused_in_production() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings()  # no file: defaults, i.e. production with the sample secret
    assert caught.value.key == "auth.jwt_secret"
    assert "ERPCOMMERCE_AUTH__JWT_SECRET" in str(caught.value)


def test_sample_secret_is_accepted_in_development(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", '[server]\nenvironment = "development"\n')
    assert load_settings(config).auth.jwt_secret == SAMPLE_JWT_SECRET


def test_sample_secret_passes_when_secrets_are_not_checked() -> None:
    assert load_settings(check_secrets=False).server.environment == "production"


def test_real_secret_is_accepted_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERPCOMMERCE_AUTH__JWT_SECRET", STRONG_SECRET)
    assert load_settings().auth.jwt_secret == STRONG_SECRET


def test_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERPCOMMERCE_AUTH__JWT_SECRET", "short")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.key == "auth.jwt_secret"


def test_explicit_path_is_read(tmp_path: Path) -> None:
    config = write_config(tmp_path / "elsewhere.toml", "[server]\nport = 9555\n")
    assert load_settings(config, check_secrets=False).server.port == 9555


def test_missing_explicit_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml")


def test_config_toml_in_working_directory_is_the_default(tmp_path: Path) -> None:
    write_config(tmp_path / "config.toml", "[server]\nport = 9444\n")
    assert load_settings(check_secrets=False).server.port == 9444


def test_database_url_defaults_to_sqlite_under_data() -> None:
    settings = load_settings(check_secrets=False)
    assert settings.database.url == "sqlite://data/erpcommerce.db"
    assert settings.database.is_sqlite


@pytest.mark.parametrize("url", ["postgres://shop:pw@db:5432/shop", "postgresql://shop@db/shop"])
def test_postgres_database_url_is_accepted(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path / "c.toml", f'[database]\nurl = "{url}"\n')
    settings = load_settings(config, check_secrets=False)
    assert settings.database.url == url
    assert not settings.database.is_sqlite


def test_unsupported_database_url_names_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", '[database]\nurl = "mysql://db/shop"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, check_secrets=False)
    assert caught.value.key == "database.url"


# -------------------------------------------------------------------------------------------------
# The repository's config.toml
# -------------------------------------------------------------------------------------------------


def test_repository_config_starts_out_of_the_box() -> None:
    settings = load_settings(REPO_CONFIG)  # secrets checked: development with the sample secret
    assert settings.server.environment == "development"
    assert settings.auth.jwt_secret == SAMPLE_JWT_SECRET
    assert settings.database.url == DatabaseSettings().url
    assert settings.redis.url == ""


def test_repository_config_matches_the_defaults_except_the_environment() -> None:
    settings = load_settings(REPO_CONFIG)
    defaults = Settings()
    assert settings.model_dump(exclude={"server"}) == defaults.model_dump(exclude={"server"})
    server_keys = set(type(settings.server).model_fields) - {"environment"}
    assert settings.server.model_dump(include=server_keys) == defaults.server.model_dump(include=server_keys)


def _sections() -> list[tuple[str, type[BaseModel]]]:
    sections = []
    for name, info in Settings.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sections.append((name, annotation))
    return sections


@pytest.mark.parametrize(("section", "model"), _sections(), ids=[name for name, _ in _sections()])
def test_repository_config_documents_every_key(section: str, model: type[BaseModel]) -> None:
    text = REPO_CONFIG.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for key in model.model_fields:
        assert key in data.get(section, {}), f"config.toml has no {section}.{key}"
        env_name = f"ERPCOMMERCE_{section.upper()}__{key.upper()}"
        assert env_name in text, f"config.toml does not name {env_name}"


def test_repository_config_shows_jobs_plugins_and_production_steps() -> None:
    text = REPO_CONFIG.read_text(encoding="utf-8")
    assert re.search(r"^# \[jobs\.[\w-]+\]$", text, re.MULTILINE)
    assert re.search(r"^# \[plugins\.[\w-]+\]$", text, re.MULTILINE)
    for hint in ('environment = "production"', "postgres://", "redis://", "ERPCOMMERCE_AUTH__JWT_SECRET"):
        assert hint in text
