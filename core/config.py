"""Configuration: ``config.toml`` overridden by ``ERPCOMMERCE_<SECTION>__<KEY>`` environment variables.

:func:`load_settings` is the only entry point. Every problem (unreadable file, unknown key, bad value)
raises :class:`core.errors.ConfigError` naming the key, so start-up stops with a clear message.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from core.errors import ConfigError

__all__ = [
    "SAMPLE_JWT_SECRET",
    "AuthSettings",
    "DashboardSettings",
    "DatabaseSettings",
    "ErpSettings",
    "JobSettings",
    "RedisSettings",
    "ServerSettings",
    "Settings",
    "WorkflowSettings",
    "load_settings",
    "plugin_settings",
]

SectionT = TypeVar("SectionT", bound=BaseModel)

SAMPLE_JWT_SECRET = "sample-secret-for-development-only-change-me"
DEFAULT_CONFIG_PATH = Path("config.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=9000, ge=1, le=65535)
    environment: Literal["development", "production"] = "production"
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:8000"])
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    access_log: bool = False
    # Seconds a cached Store catalog response may be served (bounds staleness across processes); 0 = off.
    catalog_cache_seconds: float = Field(default=2.0, ge=0)
    # GET /metrics (and a worker's metrics port) require "Authorization: Bearer <token>"; empty = open.
    metrics_token: str = ""


class DatabaseSettings(_Section):
    url: str = "sqlite://data/erpcommerce.db"
    pool_max_size: int = Field(default=10, ge=1)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite://")


class RedisSettings(_Section):
    """Redis for the arq workers; an empty ``url`` means the server runs workflows itself."""

    url: str = ""
    # The arq queue (and the prefix of its job ids): deployments sharing one Redis use different names.
    queue_name: str = Field(default="erpcommerce", min_length=1)


class AuthSettings(_Section):
    jwt_secret: str = SAMPLE_JWT_SECRET
    jwt_ttl_seconds: int = Field(default=86_400, ge=60)
    login_attempts_per_minute: int = Field(default=10, ge=1)


class ErpSettings(_Section):
    webhook_secret: str = ""
    price_cache_seconds: float = Field(default=30.0, ge=0)


class WorkflowSettings(_Section):
    """The durable workflow engine: leases, concurrency, recovery, retention."""

    lease_seconds: float = Field(default=30.0, ge=1)
    max_concurrent_runs: int = Field(default=20, ge=1)
    recovery_interval_seconds: float = Field(default=10.0, gt=0)
    retention_days: float = Field(default=7.0, ge=0)
    worker_poll_delay_seconds: float = Field(default=0.05, gt=0)
    # On SIGTERM a worker takes no new run and lets running ones finish for this long, then cancels
    # them (their leases are released, so another worker resumes them at once).
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # A worker serves its own Prometheus /metrics on this port (on [server] host); 0 = off.
    metrics_port: int = Field(default=0, ge=0, le=65535)


class DashboardSettings(_Section):
    """The operators' dashboard at ``/dashboard``: its login session and its refresh."""

    # How long a dashboard login lasts (the session cookie's lifetime).
    session_seconds: int = Field(default=8 * 3600, ge=60)
    # The pages poll the server for fresh figures this often; 0 turns the self-refresh off.
    refresh_seconds: float = Field(default=5.0, ge=0)
    # "auto": the session cookie is marked Secure (HTTPS only) unless the browser talks to a loopback
    # address (localhost); "always" / "never" force it.
    secure_cookie: Literal["auto", "always", "never"] = "auto"


class JobSettings(_Section):
    schedule: str | None = None
    enabled: bool = True


class Settings(BaseSettings):
    """The whole configuration; sections mirror ``config.toml``."""

    model_config = SettingsConfigDict(
        env_prefix="ERPCOMMERCE_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    erp: ErpSettings = Field(default_factory=ErpSettings)
    workflows: WorkflowSettings = Field(default_factory=WorkflowSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    jobs: dict[str, JobSettings] = Field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment overrides them.
        return (env_settings, init_settings)

    @property
    def is_development(self) -> bool:
        return self.server.environment == "development"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    key = ".".join(str(part) for part in error["loc"])
    message = error["msg"]
    if error["type"] != "extra_forbidden" and "input" in error:
        message = f"{message} (got {error['input']!r})"
    elif error["type"] == "extra_forbidden":
        message = "unknown key"
    return key, message


def _check_secrets(settings: Settings) -> None:
    if settings.auth.jwt_secret == SAMPLE_JWT_SECRET and not settings.is_development:
        raise ConfigError(
            "auth.jwt_secret: the sample secret is only allowed with server.environment = "
            '"development"; set a long random secret (ERPCOMMERCE_AUTH__JWT_SECRET)',
            key="auth.jwt_secret",
        )
    if len(settings.auth.jwt_secret) < 32:
        # HS256 wants a key at least as long as its 32-byte output (RFC 7518 §3.2).
        raise ConfigError("auth.jwt_secret: must be at least 32 characters", key="auth.jwt_secret")


def load_settings(path: str | os.PathLike[str] | None = None, *, check_secrets: bool = True) -> Settings:
    """Read ``path`` (default ``./config.toml`` when it exists), apply environment overrides, validate.

    :param check_secrets: refuse the sample JWT secret outside development; commands that
        never issue tokens (``migrate``) may skip it.
    :raises ConfigError: naming the first offending key.
    """
    if path is not None:
        data = _read_toml(Path(path))
    elif DEFAULT_CONFIG_PATH.exists():
        data = _read_toml(DEFAULT_CONFIG_PATH)
    else:
        data = {}
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors(include_url=False)]
        text = "; ".join(f"{key}: {message}" for key, message in problems)
        raise ConfigError(f"invalid configuration: {text}", key=problems[0][0]) from None
    if check_secrets:
        _check_secrets(settings)
    return settings


def plugin_settings(model: type[SectionT], name: str, raw: dict[str, Any]) -> SectionT:
    """A plugin's ``[plugins.<name>]`` section validated by its own pydantic ``model``.

    :raises ConfigError: naming the first bad key (``plugins.<name>.<key>``).
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = ".".join(["plugins", name, *(str(part) for part in error["loc"])])
        raise ConfigError(f"{key}: {error['msg']}", key=key) from None
