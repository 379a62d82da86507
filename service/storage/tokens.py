"""Write tokens managed from the command line: created, listed, expired and revoked, kept hashed.

A token is 32 random bytes (``secrets.token_urlsafe``), shown once when it is made; the table keeps its
SHA-256 digest. A slow password hash (scrypt, PBKDF2) protects secrets people choose, which are few
enough to try one by one; nobody can try 2**256 tokens, however fast the hash, so a slow one would only
cost every append its milliseconds. A plain digest can also be looked up by primary key: the token is
found with one index seek, not compared with every stored one.

Every check reads the token's row afresh (service.storage.lookups), so a token revoked or expired is
refused at once by every server process; nothing about its validity is kept in memory. Its last use is
written at most once a minute, by a thread of its own, never in the request's way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import threading
from typing import NamedTuple

import sqlalchemy as sa

from service.storage.database import Database
from service.storage.lookups import PointReads
from service.storage.tables import write_tokens

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
TOUCH_EVERY = dt.timedelta(minutes=1)  # how stale a token's recorded last use may be

log = logging.getLogger(__name__)


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
    with database.write_lock(), database.writer.begin() as conn:
        if conn.scalar(sa.select(sa.func.count()).where(write_tokens.c.label == label)):
            raise TokenError(f"a token labelled {label!r} exists: revoke it first, or choose another label")
        conn.execute(write_tokens.insert(), row)
    return token


def listed(database: Database) -> list[TokenInfo]:
    columns = [write_tokens.c[name] for name in TokenInfo._fields]
    with database.reader.connect() as conn:
        return [TokenInfo(*row) for row in conn.execute(sa.select(*columns).order_by(write_tokens.c.label))]


def revoke(database: Database, label: str) -> None:
    with database.write_lock(), database.writer.begin() as conn:
        if conn.execute(write_tokens.delete().where(write_tokens.c.label == label)).rowcount == 0:
            raise TokenError(f"no token is labelled {label!r}")


class ManagedTokens:
    """The check of a bearer token against the table, for the API."""

    _SQL = "SELECT digest, expires_at, last_used_at FROM write_tokens WHERE digest = ?"

    def __init__(self, database: Database, reads: PointReads) -> None:
        self._database = database
        self._reads = reads
        self._touching: set[str] = set()  # digests whose last use is being written now
        self._lock = threading.Lock()

    def refusal(self, token: str) -> str | None:
        """Why ``token`` may not write, or None if it may."""
        wanted = digest(token)
        row = self._reads.one(self._SQL, (wanted,))
        # The index seek compared digests, not tokens: how long it took tells at most how much of a
        # SHA-256 digest a guess shares, which brings nobody closer to a token. The comparison that
        # decides is made in constant time all the same.
        if row is None or not hmac.compare_digest(row[0], wanted):
            return "the bearer token is not one allowed to write"
        moment = now()
        if row[1] is not None and moment >= row[1]:
            return "the bearer token has expired"
        if row[2] is None or row[2] < timestamp(dt.datetime.now(dt.UTC) - TOUCH_EVERY):
            self._touch(wanted, moment)
        return None

    def _touch(self, wanted: str, moment: str) -> None:
        with self._lock:
            if wanted in self._touching:
                return
            self._touching.add(wanted)
        threading.Thread(target=self._write_use, args=(wanted, moment), name="token-use", daemon=True).start()

    def _write_use(self, wanted: str, moment: str) -> None:
        try:
            with self._database.write_lock(), self._database.writer.begin() as conn:
                conn.execute(
                    write_tokens.update().where(write_tokens.c.digest == wanted).values(last_used_at=moment)
                )
        except Exception as exc:  # a last use left unrecorded is no reason to refuse a write
            # the type alone: the database's message would carry the statement's parameters
            log.warning("could not record a write token's last use: %s", type(exc).__name__)
        finally:
            with self._lock:
                self._touching.discard(wanted)
