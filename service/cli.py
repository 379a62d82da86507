"""Command line: ``python -m service migrate | serve``."""

from __future__ import annotations

import argparse
import os
import secrets
import sys

from service.database import SchemaNotCurrent, check_schema, connect, migrate
from service.settings import Settings


def _migrate(settings: Settings, _: argparse.Namespace) -> None:
    database = connect(settings.database_url)
    try:
        migrate(database)
    finally:
        database.dispose()
    print("database migrated to the newest schema", file=sys.stderr)


def _local_token(settings: Settings) -> str:
    """The write token kept in the token file, created on first use."""
    path = settings.token_file
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def _serve(settings: Settings, _: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    database = connect(settings.database_url)
    try:
        check_schema(database)
    finally:
        database.dispose()
    if not settings.write_tokens:
        token = _local_token(settings)
        os.environ["TIMELINE_WRITE_TOKENS"] = token  # the server processes read their settings from here
        print(f"write token (kept in {settings.token_file}): {token}", file=sys.stderr)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    Granian(
        "service.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
    ).serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service", description="Negotiation Timeline service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(run=_migrate)
    commands.add_parser("serve", help="serve the API").set_defaults(run=_serve)
    args = parser.parse_args(argv)
    try:
        args.run(Settings.from_env(), args)
    except SchemaNotCurrent as exc:
        sys.exit(f"error: {exc}")
