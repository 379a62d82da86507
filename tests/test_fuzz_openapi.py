"""An OpenAPI fuzzer (schemathesis) against the app: whatever it sends, no answer is a server error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from service.app import create_app
from service.compose import event_store
from service.dataset import bundled, load
from service.settings import Settings
from service.storage.database import connect
from tests.conftest import TOKEN


@pytest.fixture(scope="module")
def operations(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("fuzz") / "timeline.db"
    shutil.copy(sqlite_template, path)
    database = connect(f"sqlite:///{path}")
    load(event_store(database), bundled())
    app = create_app(Settings(database_url=f"sqlite:///{path}", write_tokens=(TOKEN,)), database)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path != "/live":  # an endless stream: covered by its own tests
            found[f"{operation.method.upper()} {operation.path}"] = operation
    yield found
    database.dispose()


def test_the_fuzzer_sees_every_operation(operations) -> None:
    assert {"GET /state", "GET /timeline", "POST /streams/{stream}/events", "GET /changes"} <= set(operations)


def test_no_request_gets_a_server_error(operations) -> None:
    failures = []

    def fuzz(name, operation) -> None:
        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            if response.status_code >= 500:
                failures.append((name, case.path, case.query, response.status_code, response.text[:300]))

        run()

    for name, operation in sorted(operations.items()):
        fuzz(name, operation)
    assert failures == []
