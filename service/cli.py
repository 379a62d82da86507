"""Command line: ``python -m service migrate | seed | import | export | rebuild | verify | serve``, and
``token | backup`` (service.trust)."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from service.dataset import InvalidFile
from service.settings import METRICS_DIR_VARIABLE, InvalidSetting, Settings
from service.storage.database import SchemaNotCurrent, check_schema, connect, migrate


def _migrate(settings: Settings, _: argparse.Namespace) -> None:
    database = connect(settings.database_url)
    try:
        migrate(database)
    finally:
        database.dispose()
    print("database migrated to the newest schema", file=sys.stderr)


def _with_store(action):
    """Run `action(store)` against the configured, migrated database."""
    from service.compose import event_store

    database = connect(Settings.from_env().database_url)
    try:
        check_schema(database)
        return action(event_store(database))
    finally:
        database.dispose()


def _seed(_: Settings, __: argparse.Namespace) -> None:
    from service.dataset import bundled, load

    events = bundled()
    added = _with_store(lambda store: load(store, events))
    print(f"data set: {len(events)} events, {added} new", file=sys.stderr)


def _import(_: Settings, args: argparse.Namespace) -> None:
    from service.dataset import load, parse
    from service.storage.collector import collector_paused

    with collector_paused():  # a large file decodes into as many objects as it has events, or more
        events = parse(Path(args.file).read_bytes(), args.file)
    added = _with_store(lambda store: load(store, events))
    print(f"{args.file}: {len(events)} events, {added} new", file=sys.stderr)


def _export(_: Settings, args: argparse.Namespace) -> None:
    from service.dataset import export

    content = _with_store(export)
    if args.file in (None, "-"):
        sys.stdout.buffer.write(content)
    else:
        Path(args.file).write_bytes(content)


def _rebuild(_: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    from service.projection.rebuild import rebuild

    count = _with_store(lambda store: rebuild(store.db, rerender=args.rerender))
    elapsed = time.perf_counter() - started
    print(
        f"rebuilt projections from {count} events in {elapsed:.2f} s ({count / elapsed:,.0f} events/s)",
        file=sys.stderr,
    )


def _verify(_: Settings, args: argparse.Namespace) -> None:
    if args.from_export is not None:  # offline: the file alone, no database
        from service.trust import verify_export

        return verify_export(Path(args.from_export))
    from service.projection.rebuild import check_daily_stands, check_logged_stances
    from service.storage.integrity import verify_chain

    def check(store):
        checked, broken = verify_chain(store.db)
        if broken is not None:
            sys.exit(
                f"error: the log fails its hash chain at position {broken}: it was changed behind the service"
            )
        differs = check_logged_stances(store.db)[1]
        if differs is not None:
            sys.exit(
                f"error: the stances logged with the event at position {differs} differ from what the "
                "event says: they were changed behind the service (`python -m service rebuild --rerender` "
                "writes them again from the log)"
            )
        return checked, check_daily_stands(store.db)

    checked, stand = _with_store(check)
    if stand is not None:
        sys.exit(
            f"error: {stand} in the daily stands is not what the log says: it was changed behind the "
            "service (`python -m service rebuild --rerender` renders "
            "them all again)"
        )
    print(
        f"log verified: {checked} events, hash chain intact, logged stances match, daily stands match",
        file=sys.stderr,
    )


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
    from service.projection.rebuild import render_if_stale

    database = connect(settings.database_url)
    try:
        check_schema(database)
        if render_if_stale(database):  # made by another version of the rendering: not served stale
            print("daily stands rendered again (their rendering had changed)", file=sys.stderr)
    finally:
        database.dispose()
    if not settings.write_tokens:
        made = not settings.token_file.exists()
        token = _local_token(settings)
        os.environ["TIMELINE_WRITE_TOKENS"] = token  # the server processes read their settings from here
        # shown once, when it is made (as `token create` shows its own), never again in the server's output
        shown = f": {token}" if made else ""
        print(f"write token (kept in {settings.token_file}){shown}", file=sys.stderr)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    from service.logs import granian_config

    # the server processes share their metrics through files in a folder of their own, fresh for each
    # run (prometheus-client's multiprocess mode: see service.api.metrics). Set before anything imports
    # prometheus-client, which reads it once, at import, in this process and the workers forked from it.
    metrics_dir = tempfile.mkdtemp(prefix="timeline-metrics-")
    os.environ[METRICS_DIR_VARIABLE] = metrics_dir
    try:
        _granian(settings, granian_config(settings.log_format))
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _granian(settings: Settings, log_config: dict) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    Granian(
        "service.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        # uvloop's event loop, in C: a quarter more requests a second than asyncio's own, measured with a
        # bare Litestar app on the target machine
        loop=Loops.uvloop,
        # what is in flight gets this long to finish after SIGTERM (/live streams end at once)
        workers_kill_timeout=10,
        log_dictconfig=log_config,
    ).serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service", description="Negotiation Timeline service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(run=_migrate)
    commands.add_parser("seed", help="append the bundled data set (no-op if loaded)").set_defaults(run=_seed)
    importing = commands.add_parser("import", help="append the events of a file (a JSON array of events)")
    importing.add_argument("file")
    importing.set_defaults(run=_import)
    exporting = commands.add_parser("export", help="write the log as a file that `import` accepts")
    exporting.add_argument("file", nargs="?", help="output file (default: standard output)")
    exporting.set_defaults(run=_export)
    rebuilding = commands.add_parser("rebuild", help="recreate every projection from the log")
    rebuilding.add_argument(
        "--rerender",
        action="store_true",
        help="also write every stance as logged again, from each event's JSON, and render every daily "
        "stand again (slower)",
    )
    rebuilding.set_defaults(run=_rebuild)
    verifying = commands.add_parser(
        "verify", help="check the log's hash chain, the stances logged with each event, and the daily stands"
    )
    verifying.add_argument(
        "--from-export", metavar="FILE", help="check only the hash chain of an exported log, from the file"
    )
    verifying.set_defaults(run=_verify)
    commands.add_parser("serve", help="serve the API").set_defaults(run=_serve)
    from service.trust import add_commands

    add_commands(commands)
    args = parser.parse_args(argv)
    try:
        args.run(Settings.from_env(), args)
    except (SchemaNotCurrent, InvalidFile, InvalidSetting, OSError) as exc:
        sys.exit(f"error: {exc}")
