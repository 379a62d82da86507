"""Fixtures: real SQLite files and a real PostgreSQL database, created and dropped by the suite."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from service.app import create_app
from service.compose import event_store
from service.dataset import bundled, load
from service.settings import Settings
from service.storage.database import Database, connect, migrate
from service.storage.log import EventStore
from service.storage.tables import metadata, proj_stands_rendering

pytest_plugins = ["tests.browser"]  # the browser, and servers over the seeded data, for the page's tests

ADMIN_URL = os.environ.get("TIMELINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
TOKEN = "test-token"


def unavailable(what: str, message: str):
    """Skip the test, saying why; under CI=true fail it instead."""
    if IN_CI:
        pytest.fail(f"under CI=true a skipped {what} test is a failure: {message}", pytrace=False)
    pytest.skip(message)


def _postgres_unavailable(reason: str):
    where = f"{ADMIN_URL} (or TIMELINE_TEST_POSTGRES_URL)"
    unavailable("PostgreSQL", f"PostgreSQL tests need a server at {where}: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, migrated, dropped after the session."""
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _postgres_unavailable(str(exc).strip().splitlines()[0])
    name = f"timeline_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = connect(url)
    migrate(database)
    database.dispose()
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster than per test)."""
    path = tmp_path_factory.mktemp("template") / "timeline.db"
    database = connect(f"sqlite:///{path}")
    migrate(database)
    database.dispose()
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "timeline.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def empty_postgres(url: str) -> Database:
    """The database as migrated: every table emptied but the one that says which rendering made the daily
    stands (none of an empty log is stale)."""
    database = connect(url)
    tables = [t.name for t in metadata.sorted_tables if t is not proj_stands_rendering]
    with database.writer.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)}"))
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url).dispose()
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = connect(database_url)
    yield database
    database.dispose()


@pytest.fixture
def store(database: Database) -> EventStore:
    return event_store(database)


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(database.url), write_tokens=(TOKEN,)), database)
    with TestClient(app) as test_client:
        test_client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield test_client


@pytest.fixture
def seeded(client: TestClient, store: EventStore) -> TestClient:
    """The API client over a database loaded with the bundled data set."""
    load(store, bundled())
    return client
