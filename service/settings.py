"""Configuration, read from the environment once at start-up."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

# Every variable the service reads. The docker-compose test checks the compose file against this list.
ENVIRONMENT = {
    "TIMELINE_DATABASE_URL": "database URL: sqlite:///path/file.db or postgresql://user@host/db",
    "TIMELINE_HOST": "address to listen on",
    "TIMELINE_PORT": "port to listen on",
    "TIMELINE_WRITE_TOKENS": "comma-separated bearer tokens allowed to append",
    "TIMELINE_TOKEN_FILE": "where `serve` keeps a generated token when no token is configured",
    "TIMELINE_WORKERS": "number of server processes",
    "TIMELINE_CACHE_ENTRIES": "decoded events and encoded answer parts kept per process (0: none)",
    "TIMELINE_LOG_FORMAT": "log lines as `text` (default) or `json`",
    "TIMELINE_READ_TOKENS": "comma-separated bearer tokens reads need (default: none, reads are open)",
    "TIMELINE_CORS_ORIGINS": "origins whose pages may read cross-origin, comma-separated, `*` any (default)",
    "TIMELINE_CORS_WRITE_ORIGINS": "origins whose pages may also write cross-origin (default: none)",
}

DEFAULT_DATABASE_URL = "sqlite:///data/timeline.db"
# prometheus-client's own variable, not one to set: `serve` points it at a fresh folder for every run
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LOG_FORMATS = ("text", "json")


class InvalidSetting(ValueError):
    """A variable of the environment holds a value the service cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    write_tokens: tuple[str, ...] = ()
    token_file: Path = Path("data/write-token")
    workers: int = 1
    cache_entries: int = 100_000
    log_format: str = "text"
    read_tokens: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ("*",)
    cors_write_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        log_format = (env.get("TIMELINE_LOG_FORMAT") or "text").strip().lower()
        if log_format not in LOG_FORMATS:
            raise InvalidSetting(f"TIMELINE_LOG_FORMAT must be `text` or `json`, not {log_format!r}")
        return cls(
            database_url=env.get("TIMELINE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=env.get("TIMELINE_HOST") or "127.0.0.1",
            port=int(env.get("TIMELINE_PORT") or 8000),
            write_tokens=_listed(env.get("TIMELINE_WRITE_TOKENS")),
            token_file=Path(env.get("TIMELINE_TOKEN_FILE") or "data/write-token"),
            workers=int(env.get("TIMELINE_WORKERS") or 1),
            cache_entries=int(env.get("TIMELINE_CACHE_ENTRIES") or 100_000),
            log_format=log_format,
            read_tokens=_listed(env.get("TIMELINE_READ_TOKENS")),
            cors_origins=_origins(env.get("TIMELINE_CORS_ORIGINS", "*")),
            cors_write_origins=_origins(env.get("TIMELINE_CORS_WRITE_ORIGINS")),
        )


def _listed(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _origins(value: str | None) -> tuple[str, ...]:
    """Origins as a browser sends them: ``https://example.org``, without a trailing slash."""
    return tuple(origin.rstrip("/") for origin in _listed(value))
