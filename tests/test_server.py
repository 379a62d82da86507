"""The service as a real server process on loopback, on SQLite and with the docker-compose settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from service.settings import ENVIRONMENT, Settings
from tests.conftest import empty_postgres
from tests.factories import party, statement
from tests.server import clean_env, free_port, running_server

COMPOSE = Path(__file__).parent.parent / "docker-compose.yml"


def newcomer_flow(base: str, token: str) -> None:
    """What the README shows: append a PartyDefined and a StatementMade with a token, read them back."""
    headers = {"Authorization": f"Bearer {token}"}
    us = party("us")
    said = statement("us", parties=["us"])
    first = httpx.post(f"{base}/streams/vocabulary/events", json={"events": [us]}, headers=headers)
    assert first.status_code == 201, first.text
    second = httpx.post(f"{base}/streams/us-policy/events", json={"events": [said]}, headers=headers)
    assert second.status_code == 201, second.text
    log = httpx.get(f"{base}/events").json()
    assert [e["event"]["id"] for e in log["events"][-2:]] == [us["id"], said["id"]]
    refused = httpx.post(f"{base}/streams/vocabulary/events", json={"events": [party("eu")]})
    assert refused.status_code == 401
    # `curl -I`: the headers of a GET, no body, a stream's included (it ends at once)
    for path in ("/state", "/timeline.atom", "/live"):
        with httpx.stream("GET", f"{base}{path}") as full:
            assert full.status_code == 200
            kind = full.headers["content-type"]
        only = httpx.head(f"{base}{path}", timeout=5)
        assert (only.status_code, only.headers["content-type"], only.content) == (200, kind, b"")


def test_serve_on_sqlite_creates_and_prints_a_local_token(tmp_path: Path) -> None:
    env = {"TIMELINE_PORT": str(free_port())}  # everything else at its default, as `make run` does
    subprocess.run([sys.executable, "-m", "service", "migrate"], cwd=tmp_path, check=True, env=clean_env())
    with running_server(env, tmp_path) as (base, _):
        token = (tmp_path / "data" / "write-token").read_text().strip()
        assert len(token) >= 24
        assert token in (tmp_path / "server.log").read_text()
        newcomer_flow(base, token)
    with running_server(env, tmp_path):
        assert (tmp_path / "data" / "write-token").read_text().strip() == token  # kept, not replaced


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "serve"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "not migrated" in result.stderr and "python -m service migrate" in result.stderr


def compose_environment() -> dict[str, str]:
    service = yaml.safe_load(COMPOSE.read_text())["services"]["timeline"]
    return {key: str(value) for key, value in service["environment"].items()}


class Watched(dict):
    """An environment that remembers every variable asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def test_the_documented_variables_are_those_the_settings_read() -> None:
    environ = Watched({})
    Settings.from_env(environ)
    assert environ.asked == set(ENVIRONMENT)


def test_every_variable_compose_passes_is_read_and_taken_as_given() -> None:
    compose = compose_environment()
    environ = Watched(compose)
    settings = Settings.from_env(environ)
    assert set(compose) <= environ.asked
    assert settings.database_url == compose["TIMELINE_DATABASE_URL"]
    assert (settings.host, settings.port) == (compose["TIMELINE_HOST"], int(compose["TIMELINE_PORT"]))
    assert settings.workers == int(compose["TIMELINE_WORKERS"])
    assert settings.cache_entries == int(compose["TIMELINE_CACHE_ENTRIES"])


@pytest.mark.postgres
def test_the_service_runs_with_the_compose_settings_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    empty_postgres(postgres_url).dispose()
    env = compose_environment()
    compose_url = sa.make_url(env["TIMELINE_DATABASE_URL"])
    local = sa.make_url(postgres_url)
    assert compose_url.get_backend_name() == "postgresql"
    env["TIMELINE_DATABASE_URL"] = local.render_as_string(hide_password=False)  # same kind, local server
    env["TIMELINE_HOST"] = "127.0.0.1"  # the container listens on all interfaces; the test on loopback
    env["TIMELINE_PORT"] = str(free_port())
    env["TIMELINE_WRITE_TOKENS"] = "compose-token,other-token"
    with running_server(env, tmp_path) as (base, _):
        newcomer_flow(base, "other-token")
        assert httpx.get(f"{base}/health").json()["head"] == 2
