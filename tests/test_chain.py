"""A log anyone can check: every event shows its hash and its link, every read answer the hash at the
position it reflects, an export carries all the chain covers, and the README's own lines recompute it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from events.codec import encode
from service.compose import event_store
from service.dataset import InvalidFile, bundled, export, load, parse
from service.storage.database import Database, connect, migrate
from service.storage.log import EventStore, chain_hash
from service.storage.tables import events as events_table
from tests.conftest import empty_postgres
from tests.factories import event, party, statement
from tests.server import clean_env, cli, free_port, running_server

README = (Path(__file__).parent.parent / "README.md").read_text()


def readme_lines() -> str:
    """The Python block of the README's "A log anyone can check", exactly as written there."""
    section = README[README.index("## A log anyone can check") :]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def hashes(database: Database) -> dict[int, str]:
    with database.reader.connect() as conn:
        return {p: h for p, h in conn.execute(sa.select(events_table.c.position, events_table.c.hash))}


def canonical(event_json: dict) -> str:
    return json.dumps(event_json, ensure_ascii=False, separators=(",", ":"))


def check_shown(shown: dict, known: dict[int, str]) -> None:
    """An event as the API shows it: its hash is the log's, its link the hash before it, and the two
    recompute from what is shown, by the README's formula."""
    position = shown["position"]
    assert shown["hash"] == known[position]
    assert shown["previous_hash"] == known.get(position - 1, "")
    event_json = shown["event"]
    recomputed = chain_hash(
        shown["previous_hash"],
        position,
        event_json["stream"],
        shown["version"],
        shown["recorded_at"],
        canonical(event_json),
    )
    assert recomputed == shown["hash"]


def test_every_event_shows_its_hash_and_its_link(seeded: TestClient, database: Database) -> None:
    known = hashes(database)
    log = seeded.get("/events", params={"limit": 1000}).json()["events"]
    assert [e["position"] for e in log] == sorted(known) and log[0]["previous_hash"] == ""
    for shown in log:
        check_shown(shown, known)
    # a filtered page skips positions: each link is still the event just before it in the log
    filtered = seeded.get("/events", params={"party": "ukraine", "limit": 1000}).json()["events"]
    assert any(b["position"] - a["position"] > 1 for a, b in zip(filtered, filtered[1:], strict=False))
    for shown in filtered:
        check_shown(shown, known)
    one = log[17]
    check_shown(seeded.get(one["href"]).json()["event"], known)
    stream = seeded.get(f"/streams/{one['event']['stream']}").json()["events"]
    for shown in stream:
        check_shown(shown, known)


def test_every_read_answer_names_the_hash_at_the_position_it_reflects(
    seeded: TestClient, database: Database
) -> None:
    known = hashes(database)
    head = max(known)
    some_event = seeded.get("/events", params={"limit": 1}).json()["events"][0]
    urls = [
        "/events",
        some_event["href"],
        f"/streams/{some_event['event']['stream']}",
        "/state",
        "/state?at=5",
        "/state?as_of=2025-02-20&known_at=2025-02-20&at=30",
        "/parties?at=3",
        "/issues",
        "/parties/ukraine?at=40",
        "/issues/resource_deal",
        "/parties/ukraine/history?at=44",
        "/changes?from=2025-02-20&to=2025-02-28&at=45",
        "/timeline?at=12",
        "/timeline.atom",
        "/timeline.json?at=20",
        "/timeline.ics",
        "/timeline/timelinejs.json?at=33",
    ]
    for url in urls:
        answer = seeded.get(url)
        assert answer.status_code == 200, url
        position = int(answer.headers["etag"].strip('"'))
        expected = min(int(m[1]), head) if (m := re.search(r"\bat=(\d+)", url)) else head
        assert position == expected, url
        assert answer.headers["timeline-head"] == str(head), url
        assert answer.headers["timeline-head-hash"] == known[position], url
        unchanged = seeded.get(url, headers={"If-None-Match": answer.headers["etag"]})
        assert unchanged.status_code == 304 and unchanged.headers["timeline-head-hash"] == known[position]


def test_answers_find_the_hash_where_their_head_was_read(seeded: TestClient, database: Database) -> None:
    """The hash an answer names is read by the thread that read its head (and its ``at``), not by a read
    of its own on the event loop."""
    known = hashes(database)

    def no_read_on_the_loop(sql: str, params: tuple) -> None:
        raise AssertionError(f"read on the event loop: {sql}")

    seeded.app.state.chain._reads.one = no_read_on_the_loop
    head = max(known)  # the bundled data set's last position
    for url, position in [("/events", head), ("/state", head), ("/state?at=7", 7), ("/timeline?at=9", 9)]:
        assert seeded.get(url).headers["timeline-head-hash"] == known[position], url


def test_an_empty_log_names_no_hash(client: TestClient) -> None:
    answer = client.get("/events")
    assert answer.headers["timeline-head"] == "0" and "timeline-head-hash" not in answer.headers
    assert "timeline-head-hash" not in client.get("/state").headers
    client.post("/streams/vocabulary/events", json={"events": [party("us")]})
    assert client.get("/state?at=0").headers.get("timeline-head-hash") is None
    first = client.get("/events").json()["events"][0]
    assert client.get("/state").headers["timeline-head-hash"] == first["hash"]


def tampered(content: str, position: int) -> str:
    """The export with the title of the event at ``position`` changed, its `log` left as it was."""
    entries = json.loads(content)
    entries[position - 1]["title"] += " (edited)"
    return json.dumps(entries, ensure_ascii=False, indent=2)


def test_the_readmes_lines_and_verify_check_a_real_export_offline(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").returncode == 0
    assert cli(tmp_path, "seed").returncode == 0
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps([statement("us", stream="mine", title="Déjà vu — “quoted” \u2028 ✓")]))
    assert cli(tmp_path, "import", str(mine)).returncode == 0
    exported = tmp_path / "export.json"
    assert cli(tmp_path, "export", str(exported)).returncode == 0
    database = connect(f"sqlite:///{tmp_path / 'data' / 'timeline.db'}")
    known = hashes(database)
    database.dispose()
    head = max(known)
    script = tmp_path / "check_chain.py"
    script.write_text(readme_lines())

    def readme(path: Path, *cited: object) -> subprocess.CompletedProcess:
        args = [sys.executable, str(script), str(path), *map(str, cited)]
        return subprocess.run(args, capture_output=True, text=True, timeout=60, env=clean_env())

    checked = readme(exported, 12, known[12])
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"chain intact: {head} events, head hash {known[head]}"
    verified = cli(
        tmp_path, "verify", "--from-export", str(exported), TIMELINE_DATABASE_URL="sqlite:///none.db"
    )
    assert verified.returncode == 0, verified.stderr
    assert f"{head} events, hash chain intact; head {head}, hash {known[head]}" in verified.stderr
    assert not (tmp_path / "none.db").exists()  # offline: no database was opened

    assert "the chain breaks at position 12" in readme(exported, 12, known[11]).stderr  # not what was cited
    assert "past the head" in readme(exported, head + 1, known[head]).stderr  # events cut off the end
    changed = tmp_path / "changed.json"
    changed.write_text(tampered(exported.read_text(), 20))
    assert "the chain breaks at position 20" in readme(changed).stderr
    refused = cli(tmp_path, "verify", "--from-export", str(changed))
    assert refused.returncode != 0 and "fails its hash chain at position 20" in refused.stderr
    entries = json.loads(exported.read_text())
    del entries[29]  # an event removed: the positions no longer follow each other
    changed.write_text(json.dumps(entries))
    assert "the chain breaks at position 30" in readme(changed).stderr
    assert "at position 30" in cli(tmp_path, "verify", "--from-export", str(changed)).stderr
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([statement("us", stream="mine")]))
    no_hashes = cli(tmp_path, "verify", "--from-export", str(plain))
    assert no_hashes.returncode != 0 and "carries no hashes" in no_hashes.stderr


@pytest.mark.timeout(120)
def test_the_readmes_lines_check_a_cited_hash_against_a_running_service(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").returncode == 0
    assert cli(tmp_path, "seed").returncode == 0
    lines: dict = {}
    exec(compile(readme_lines(), "README.md", "exec"), lines)  # noqa: S102 - the README's own lines
    env = {"TIMELINE_PORT": str(free_port()), "TIMELINE_WRITE_TOKENS": "t"}
    with running_server(env, tmp_path) as (base, _):
        answer = httpx.get(f"{base}/state", params={"as_of": "2025-02-26", "at": 30})
        position, cited = int(answer.headers["etag"].strip('"')), answer.headers["timeline-head-hash"]
        assert position == 30
        assert lines["check_cited"](base, position, cited)
        assert not lines["check_cited"](base, position, "0" * 64)
        assert not lines["check_cited"](base, position + 1, cited)


def test_restoring_an_export_into_an_empty_database_of_the_other_kind_gives_the_same_hashes(
    sqlite_url: str, postgres_url: str
) -> None:
    source = connect(sqlite_url)
    target = empty_postgres(postgres_url)
    try:
        load(event_store(source), bundled())
        content = export(event_store(source))
        copy = event_store(target)
        assert load(copy, parse(content, "export.json")) == len(bundled())
        assert hashes(target) == hashes(source)
        assert export(copy) == content
    finally:
        source.dispose()
        target.dispose()


def test_a_changed_export_is_refused_whole_when_restored(store: EventStore, tmp_path: Path) -> None:
    other = connect(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    try:
        load(store, bundled())
        content = export(store).decode()
        last = len(bundled())
        with pytest.raises(InvalidFile, match=rf"hash at position {last} would be .* verify --from-export"):
            load(event_store(other), parse(tampered(content, 7).encode(), "changed.json"))
        assert event_store(other).head() == 0
    finally:
        other.dispose()


def test_an_export_into_a_log_with_events_is_appended_as_new(store: EventStore, tmp_path: Path) -> None:
    other = connect(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    try:
        load(store, bundled()[:3])
        content = export(store)
        copy = event_store(other)
        copy.append("elsewhere", [event(party("norway"))])
        assert load(copy, parse(content, "export.json")) == 3
        assert [r.position for r in copy.read_log().events] == [1, 2, 3, 4]
        assert set(hashes(other).values()).isdisjoint(hashes(store.db).values())  # recorded now, chained on
    finally:
        other.dispose()


def test_an_export_is_read_as_strictly_as_any_file(store: EventStore) -> None:
    load(store, bundled()[:3])
    entries = json.loads(export(store))
    for change, message in [
        (lambda e: e[1].pop("log"), r"all carry `log` - at `\$\[1\]`"),
        (lambda e: e[2]["log"].update(hash="not-hex"), r"at `\$\[2\]\.log\.hash`"),
        (lambda e: e[0]["log"].update(extra=1), r"unknown field `extra` - at `\$\[0\]\.log`"),
        (lambda e: e[1].update(kind="planet"), r"at `\$\[1\]\.kind`"),
        (lambda e: e[2].update(surplus=True), r"unknown field `surplus` - at `\$\[2\]`"),
    ]:
        changed = json.loads(json.dumps(entries))
        change(changed)
        with pytest.raises(InvalidFile, match=message):
            parse(json.dumps(changed).encode(), "changed.json")


text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(title=text, quote=text, summary=text)
def test_json_dumps_writes_an_events_json_exactly_as_logged(title: str, quote: str, summary: str) -> None:
    """The README's formula rebuilds ``data`` with ``json.dumps``: for any text in an event, it writes
    the very bytes the log holds."""
    logged = encode(event(statement("us", title=title, quote=quote, summary=summary))).decode()
    assert canonical(json.loads(logged)) == logged


def test_json_dumps_writes_every_bundled_event_as_logged() -> None:
    for item in bundled():
        logged = encode(item).decode()
        assert canonical(msgspec.json.decode(logged)) == logged
