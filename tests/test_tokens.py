"""Managed write tokens: made, listed, expired and revoked from the command line, kept hashed, refused at
once by every server process, and never written to a log line."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from service.storage import tokens
from service.storage.database import Database
from service.storage.log import Batch, EventStore
from service.storage.tables import write_tokens
from service.trust import expiry
from tests.factories import events, party
from tests.server import cli, free_port, running_server


def post(client: TestClient | httpx.Client, token: str | None, stream: str = "vocabulary") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post(f"/streams/{stream}/events", json={"events": [party("p")]}, headers=headers)


def refused(response: httpx.Response, detail: str) -> bool:
    return (
        response.status_code == 401
        and response.headers["content-type"].startswith("application/problem+json")
        and detail in response.json()["detail"]
        and response.headers["www-authenticate"].startswith("Bearer")
    )


def test_the_cli_creates_lists_and_revokes_tokens_and_keeps_only_their_digests(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").returncode == 0
    made = cli(tmp_path, "token", "create", "--label", "ci", "--expires", "2099-01-31")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and len(token) >= 43  # the token alone, 32 random bytes
    assert token not in made.stderr and "shown this once" in made.stderr
    assert "2099-02-01T00:00:00Z" in made.stderr  # a day means through that day (UTC)
    assert cli(tmp_path, "token", "create", "--label", "deploy").returncode == 0

    listed = cli(tmp_path, "token", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["label", "created", "expires", "last", "used"]
    assert lines[1].split()[0] == "ci" and lines[1].split()[2:] == ["2099-02-01T00:00:00Z", "never"]
    assert lines[2].split()[0] == "deploy" and lines[2].split()[2:] == ["never", "never"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert token not in listed.stdout + listed.stderr and digest not in listed.stdout + listed.stderr

    # the database holds the digest, and nowhere the token
    dump = "\n".join(sqlite_rows(tmp_path / "data" / "timeline.db", "SELECT * FROM write_tokens"))
    assert digest in dump and token not in dump

    taken = cli(tmp_path, "token", "create", "--label", "ci")
    assert taken.returncode != 0 and "a token labelled 'ci' exists" in taken.stderr
    for bad in (["--label", "no spaces"], ["--label", "x", "--expires", "2020-01-01"], ["--expires", "soon"]):
        result = cli(tmp_path, "token", "create", *bad)
        assert result.returncode != 0 and result.stdout == ""
    assert "ci" in cli(tmp_path, "token", "list").stdout
    revoked = cli(tmp_path, "token", "revoke", "ci")
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    assert "ci" not in cli(tmp_path, "token", "list").stdout
    again = cli(tmp_path, "token", "revoke", "ci")
    assert again.returncode != 0 and "no token is labelled 'ci'" in again.stderr


def sqlite_rows(path: Path, query: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [repr(row) for row in db.execute(query)]


def test_expiry_is_a_day_through_its_end_or_a_moment() -> None:
    assert expiry("2027-01-31") == dt.datetime(2027, 2, 1, tzinfo=dt.UTC)
    assert expiry("2027-01-31T12:30:00Z") == dt.datetime(2027, 1, 31, 12, 30, tzinfo=dt.UTC)
    assert expiry("2027-01-31T12:30:00+02:00") == dt.datetime(2027, 1, 31, 10, 30, tzinfo=dt.UTC)
    assert expiry("2027-01-31T12:30") == dt.datetime(2027, 1, 31, 12, 30, tzinfo=dt.UTC)


def test_a_managed_token_writes_until_revoked_then_gets_a_401_at_once(
    client: TestClient, database: Database
) -> None:
    token = tokens.create(database, "ci")
    assert post(client, token).status_code == 201
    assert post(client, None).status_code == 201  # the client's own token, from the settings, still writes
    tokens.revoke(database, "ci")
    response = post(client, token)
    assert refused(response, "not one allowed to write")
    with database.reader.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(write_tokens)) == 0
    assert post(client, "some-guess").status_code == 401


def test_the_append_transaction_refuses_a_revoked_token_and_only_its_batch(store: EventStore) -> None:
    """What decides is read in the append's own transaction: a batch whose token was revoked since its
    request was let in is refused there, alone; the others of its group are stored."""
    kept = tokens.create(store.db, "kept")
    gone = tokens.create(store.db, "gone")
    tokens.revoke(store.db, "gone")
    assert tokens.listed(store.db)[0].last_used_at is None
    outcomes = store.append_group(
        [
            Batch("vocabulary", events(party("us")), token=tokens.digest(kept)),
            Batch("vocabulary", events(party("eu")), token=tokens.digest(gone)),
            Batch("other", events(party("ru"))),  # a token of the environment: not looked up
        ]
    )
    assert isinstance(outcomes[1], tokens.TokenRefused) and outcomes[1].status == 401
    assert tokens.listed(store.db)[0].last_used_at is not None  # recorded in the same transaction
    with store.db.writer.begin() as conn:  # as if its time had come
        conn.execute(write_tokens.update().values(expires_at="2000-01-01T00:00:00Z"))
    late = store.append_group([Batch("vocabulary", events(party("ua")), token=tokens.digest(kept))])
    assert isinstance(late[0], tokens.TokenRefused) and "expired" in late[0].detail
    assert [r.event.stream for r in store.read_log().events] == ["vocabulary", "other"]
    with pytest.raises(tokens.TokenRefused, match="not one allowed"):
        store.append_batches([Batch("x", events(party("x")), token=tokens.digest(gone))])


def test_an_expired_token_gets_a_401_and_changes_nothing(client: TestClient, database: Database) -> None:
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=2)
    token = tokens.create(database, "brief", soon)
    assert post(client, token).status_code == 201
    head = client.get("/events").json()["head"]
    while dt.datetime.now(dt.UTC) < soon:
        time.sleep(0.1)
    response = post(client, token, stream="elsewhere")
    assert refused(response, "expired")
    assert client.get("/events").json()["head"] == head


def test_last_use_is_recorded_but_not_on_every_write(client: TestClient, database: Database) -> None:
    token = tokens.create(database, "ci")
    assert tokens.listed(database)[0].last_used_at is None
    assert post(client, token).status_code == 201
    first = wait_for_last_use(database)
    time.sleep(1.1)  # later by a second: a write now would show
    for _ in range(5):
        assert post(client, token).status_code == 201
    time.sleep(0.3)
    assert tokens.listed(database)[0].last_used_at == first


def wait_for_last_use(database: Database) -> str:
    deadline = time.monotonic() + 10
    while (used := tokens.listed(database)[0].last_used_at) is None:
        assert time.monotonic() < deadline, "the last use was never recorded"
        time.sleep(0.05)
    assert abs(dt.datetime.fromisoformat(used) - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=10)
    return used


def processes_under(pid: int) -> list[int]:
    """The processes started by ``pid``, and by them, and so on."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def serving_process(server_pid: int, response: httpx.Response) -> int:
    """Which process of the server holds the connection that ``response`` came over (Linux: the socket
    of the client's port, found in /proc/net/tcp, and among each process's open files)."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    inode = next(
        fields[9]
        for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if int(fields[2].rsplit(":", 1)[1], 16) == client_port
    )
    for pid in processes_under(server_pid):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
    raise AssertionError("no server process holds the connection")


def one_client_per_process(base: str, server_pid: int, stack: contextlib.ExitStack) -> list[httpx.Client]:
    """A client kept alive on a connection to each of the two server processes."""
    by_process: dict[int, httpx.Client] = {}
    for _ in range(100):
        client = stack.enter_context(httpx.Client(base_url=base))
        by_process.setdefault(serving_process(server_pid, client.get("/health")), client)
        if len(by_process) == 2:
            return list(by_process.values())
    raise AssertionError("no connection reached the second server process")


@pytest.mark.timeout(180)
def test_revoked_and_expired_tokens_are_refused_at_once_by_every_server_process(tmp_path: Path) -> None:
    """Two server processes on one database, a connection to each: a token made while they serve writes
    through both; revoked or expired, it is refused by both from the first request after. No token ever
    shows in the server's output."""
    assert cli(tmp_path, "migrate").returncode == 0
    env_token = "env-token-kept-out-of-logs"
    env = {"TIMELINE_PORT": str(free_port()), "TIMELINE_WORKERS": "2", "TIMELINE_WRITE_TOKENS": env_token}
    with running_server(env, tmp_path) as (base, server), contextlib.ExitStack() as stack:
        clients = one_client_per_process(base, server.pid, stack)
        revoked = cli(tmp_path, "token", "create", "--label", "revoked").stdout.strip()
        ends = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=4)
        expiring = cli(tmp_path, "token", "create", "--label", "expiring", "--expires", ends.isoformat())
        expiring = expiring.stdout.strip()
        for client in clients:
            for token in (revoked, expiring, env_token):
                assert post(client, token).status_code == 201
        assert cli(tmp_path, "token", "revoke", "revoked").returncode == 0
        for client in clients:
            assert refused(post(client, revoked), "not one allowed to write")
        while dt.datetime.now(dt.UTC) < ends:
            time.sleep(0.1)
        for client in one_client_per_process(base, server.pid, stack):  # (idle connections may be closed)
            assert refused(post(client, expiring), "expired")
            assert post(client, env_token).status_code == 201
            assert post(client, "a-wrong-guess").status_code == 401
    output = (tmp_path / "server.log").read_text()
    for secret in (revoked, expiring, env_token, "a-wrong-guess"):
        assert secret not in output
        assert hashlib.sha256(secret.encode()).hexdigest() not in output
    assert "authorization" not in output.lower() and "bearer" not in output.lower()
