"""Write tokens managed from the command line: created, listed, expired and revoked, kept hashed.

A token is 32 random bytes (``secrets.token_urlsafe``), shown once when it is made; the table keeps its
SHA-256 digest. A slow password hash (scrypt, PBKDF2) protects secrets people choose, which are few
enough to try one by one; nobody can try 2**256 tokens, however fast the hash, so a slow one would only
cost every append its milliseconds. A plain digest can also be looked up by primary key: the token is
found with one index seek, not compared with every stored one.

Every append sent with a managed token has the token's row read in its own transaction, so a token
revoked or expired is refused from the first append after, by every server process (``refused_in``);
what a process remembers of a token only lets it refuse a request sooner (``ManagedTokens``). Its last use
is written in that transaction too, at most once a minute: not a write per append.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from typing import NamedTuple

import sqlalchemy as sa

from service.storage.bulk import DriverQuery
from service.storage.bulk import listed as listed_in
from service.storage.database import Database
from service.storage.lookups import PointReads
from service.storage.refusals import AppendRefused
from service.storage.tables import write_tokens

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
TOUCH_EVERY = dt.timedelta(minutes=1)  # how stale a token's recorded last use may be


class TokenError(ValueError):
    """A token command that cannot be carried out; says why."""


class TokenInfo(NamedTuple):
    """What ``token list`` shows of a token: never the token, nor its digest."""

    label: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def timestamp(moment: dt.datetime) -> str:
    """The form times are stored in: UTC, to the second, so that they sort as text."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return timestamp(dt.datetime.now(dt.UTC))


def create(database: Database, label: str, expires_at: dt.datetime | None = None) -> str:
    """Make a token under a new ``label``; returns the token, which is kept nowhere."""
    if not LABEL.match(label):
        raise TokenError(
            f"{label!r} is not a label: 1 to 64 of A-Z a-z 0-9 _ . @ -, starting with a letter or a digit"
        )
    if expires_at is not None and expires_at <= dt.datetime.now(dt.UTC):
        raise TokenError(f"the expiry {timestamp(expires_at)} has passed already")
    token = secrets.token_urlsafe(32)
    row = {
        "digest": digest(token),
        "label": label,
        "created_at": now(),
        "expires_at": None if expires_at is None else timestamp(expires_at),
        "last_used_at": None,
    }
    try:
        with database.write_lock(), database.writer.begin() as conn:
            conn.execute(write_tokens.insert(), row)
    except sa.exc.IntegrityError:  # (its message would carry the digest: not shown)
        taken = f"a token labelled {label!r} exists: revoke it first, or choose another label"
        raise TokenError(taken) from None
    return token


def listed(database: Database) -> list[TokenInfo]:
    columns = [write_tokens.c[name] for name in TokenInfo._fields]
    with database.reader.connect() as conn:
        return [TokenInfo(*row) for row in conn.execute(sa.select(*columns).order_by(write_tokens.c.label))]


def revoke(database: Database, label: str) -> None:
    with database.write_lock(), database.writer.begin() as conn:
        if conn.execute(write_tokens.delete().where(write_tokens.c.label == label)).rowcount == 0:
            raise TokenError(f"no token is labelled {label!r}")


class TokenRefused(AppendRefused):
    """A batch sent with a managed token that may no longer write: revoked, or expired."""

    status = 401
    title = "Unauthorized"


UNKNOWN = "the token is not one allowed to write"
EXPIRED = "the token has expired"
RECHECK_AFTER = 1.0  # seconds a process goes by what it read of a token before reading its row again

_ALLOWED = DriverQuery(
    {
        dialect: sa.select(
            write_tokens.c.digest, write_tokens.c.expires_at, write_tokens.c.last_used_at
        ).where(listed_in(write_tokens.c.digest, "digests", dialect == "sqlite"))
        for dialect in ("sqlite", "postgresql")
    },
    lists=("digests",),
)


class ManagedTokens:
    """What a server process knows of managed tokens, to refuse a request at once, before its body is read.

    Reading a token's row on the event loop for every request was measured to cost the append path a
    third of its rate: each read lets go of the GIL, and the loop then waits for the writer thread to give
    it back (p99 0.7 ms on SQLite, 10 ms on PostgreSQL, under appends). So a process reads a token's row
    once a second at most, and what decides is read again where it costs nothing: in the transaction of
    the append itself (``refused_in``), one statement for the whole group. A revoked or expired token is
    refused by every process from the first append after, whatever the process still remembers of it.
    """

    _SQL = "SELECT digest, expires_at FROM write_tokens WHERE digest = ?"

    def __init__(self, reads: PointReads) -> None:
        self._reads = reads
        self._seen: dict[str, tuple[float, float | None]] = {}  # digest -> (read at, expires: epoch)

    def admit(self, token: str) -> tuple[str, str | None]:
        """The digest of ``token``, and why it may not write (None: it may, as far as this process
        knows; the append's transaction has the last word)."""
        wanted = digest(token)
        seen = self._seen.get(wanted)
        clock = time.monotonic()
        if seen is None or clock - seen[0] > RECHECK_AFTER:
            row = self._reads.one(self._SQL, (wanted,))
            # The index seek compared digests, not tokens: how long it took tells at most how much of a
            # SHA-256 digest a guess shares, which brings nobody closer to a token. The comparison that
            # decides is made in constant time all the same.
            if row is None or not hmac.compare_digest(row[0], wanted):
                self._seen.pop(wanted, None)
                return wanted, UNKNOWN
            if len(self._seen) > 10_000:  # (only tokens that exist are kept: few)
                self._seen.clear()
            expires = None if row[1] is None else dt.datetime.fromisoformat(row[1]).timestamp()
            seen = self._seen[wanted] = (clock, expires)
        if seen[1] is not None and time.time() >= seen[1]:
            return wanted, EXPIRED
        return wanted, None


def refused_in(conn: sa.Connection, tokens: dict[int, str]) -> dict[int, TokenRefused]:
    """Of the batches sent with managed tokens (batch -> digest), those whose token may not write, read in
    the append's own transaction: revoked or expired by now. Records the use of the others, at most once
    a minute each, in the same transaction (one statement, on the rare append that needs it)."""
    if not tokens:
        return {}
    moment = dt.datetime.now(dt.UTC)
    now_text, stale = timestamp(moment), timestamp(moment - TOUCH_EVERY)
    why: dict[str, str] = {}  # digest -> why it may not write; absent: it may
    used = []
    found = {row.digest: row for row in _ALLOWED.rows(conn, digests=sorted(set(tokens.values())))}
    for hashed in set(tokens.values()):
        row = found.get(hashed)
        if row is None:
            why[hashed] = UNKNOWN
        elif row.expires_at is not None and now_text >= row.expires_at:
            why[hashed] = EXPIRED
        elif row.last_used_at is None or row.last_used_at < stale:
            used.append(hashed)
    if used:
        touch = write_tokens.update().where(write_tokens.c.digest.in_(used)).values(last_used_at=now_text)
        conn.execute(touch)
    return {k: TokenRefused(why[hashed]) for k, hashed in tokens.items() if hashed in why}
