"""The command line's commands of trust: ``token create | list | revoke``, ``backup FILE`` and
``verify --from-export FILE`` (service.cli registers them)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from service.dataset import parse
from service.settings import Settings
from service.storage import tokens
from service.storage.backup import BackupRefused, backup
from service.storage.chain import first_break
from service.storage.database import Database, check_schema, connect


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    database = connect(settings.database_url)
    try:
        check_schema(database)
        yield database
    finally:
        database.dispose()


def expiry(text: str) -> dt.datetime:
    """``--expires``: a day (the token works through it, UTC: the end of a day, as dates mean everywhere
    in this service) or a moment (ISO 8601; UTC unless it says otherwise)."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a day (YYYY-MM-DD) or a moment (YYYY-MM-DDTHH:MM:SSZ)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _create(settings: Settings, args: argparse.Namespace) -> None:
    with _database(settings) as database:
        try:
            token = tokens.create(database, args.label, args.expires)
        except tokens.TokenError as exc:
            sys.exit(f"error: {exc}")
    until = "" if args.expires is None else f", expires {tokens.timestamp(args.expires)}"
    print(token)  # alone on standard output, so that TOKEN=$(python -m service token create ...) works
    print(
        f"write token {args.label!r} created{until}: shown this once, kept only as its SHA-256 digest",
        file=sys.stderr,
    )


def _list(settings: Settings, _: argparse.Namespace) -> None:
    with _database(settings) as database:
        found = tokens.listed(database)
    if not found:
        print(
            "no managed write tokens (those of TIMELINE_WRITE_TOKENS and the token file are not listed)",
            file=sys.stderr,
        )
        return
    now = tokens.now()

    def expires(info: tokens.TokenInfo) -> str:
        if info.expires_at is None:
            return "never"
        return info.expires_at + (" (expired)" if now >= info.expires_at else "")

    rows = [("label", "created", "expires", "last used")] + [
        (info.label, info.created_at, expires(info), info.last_used_at or "never") for info in found
    ]
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _revoke(settings: Settings, args: argparse.Namespace) -> None:
    with _database(settings) as database:
        try:
            tokens.revoke(database, args.label)
        except tokens.TokenError as exc:
            sys.exit(f"error: {exc}")
    print(f"write token {args.label!r} revoked: every server process refuses it from now on", file=sys.stderr)


def _backup(settings: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    with _database(settings) as database:
        try:
            head, hashed = backup(database, Path(args.file))
        except BackupRefused as exc:
            sys.exit(f"error: {exc}")
    print(
        f"backup written to {args.file} in {time.perf_counter() - started:.2f} s: {head} events, head hash "
        f"{hashed or '(none: the log is empty)'}; to restore, point TIMELINE_DATABASE_URL at a copy of it "
        "and run `python -m service verify`",
        file=sys.stderr,
    )


def verify_export(path: Path) -> None:
    """``verify --from-export FILE``: the chain of an exported log, checked from the file alone."""
    exported = parse(path.read_bytes(), str(path))
    if exported.log is None:
        sys.exit(f"error: {path} carries no hashes: it is not an export (`python -m service export FILE`)")
    checked, broken = first_break(exported.links())
    if broken is not None:
        sys.exit(
            f"error: the export fails its hash chain at position {broken}: the file, or the log it was "
            "exported from, was changed there"
        )
    head = exported.log[-1].hash if exported.log else "(none: the log is empty)"
    print(
        f"export verified: {checked} events, hash chain intact; head {checked}, hash {head}", file=sys.stderr
    )


def add_commands(commands: argparse._SubParsersAction) -> None:
    managing = commands.add_parser("token", help="create, list and revoke write tokens (kept hashed)")
    token_commands = managing.add_subparsers(dest="token_command", required=True)
    creating = token_commands.add_parser("create", help="make a write token: printed once, kept hashed")
    creating.add_argument("--label", required=True, help="a name for the token, unique")
    creating.add_argument(
        "--expires",
        type=expiry,
        help="YYYY-MM-DD (works through that day, UTC) or an ISO 8601 moment; default: never",
    )
    creating.set_defaults(run=_create)
    token_commands.add_parser(
        "list", help="labels, creation, expiry and last use (never a token)"
    ).set_defaults(run=_list)
    revoking = token_commands.add_parser("revoke", help="refuse a token from now on, on every process")
    revoking.add_argument("label")
    revoking.set_defaults(run=_revoke)
    backing_up = commands.add_parser(
        "backup", help="a consistent copy of the SQLite database, taken while the service serves"
    )
    backing_up.add_argument("file", help="the copy to write (must not exist)")
    backing_up.set_defaults(run=_backup)
