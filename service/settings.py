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
}

DEFAULT_DATABASE_URL = "sqlite:///data/timeline.db"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    write_tokens: tuple[str, ...] = ()
    token_file: Path = Path("data/write-token")
    workers: int = 1
    cache_entries: int = 100_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        tokens = tuple(t.strip() for t in env.get("TIMELINE_WRITE_TOKENS", "").split(",") if t.strip())
        return cls(
            database_url=env.get("TIMELINE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=env.get("TIMELINE_HOST") or "127.0.0.1",
            port=int(env.get("TIMELINE_PORT") or 8000),
            write_tokens=tokens,
            token_file=Path(env.get("TIMELINE_TOKEN_FILE") or "data/write-token"),
            workers=int(env.get("TIMELINE_WORKERS") or 1),
            cache_entries=int(env.get("TIMELINE_CACHE_ENTRIES") or 100_000),
        )
