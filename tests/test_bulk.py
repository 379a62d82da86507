"""The write path's statements on the driver's cursor (service.storage.bulk), on both databases."""

from __future__ import annotations

from service.storage.log import _LAST, _STORED_IDS, _VERSIONS, EventStore, _pipelined
from tests.factories import events, party, statement


def test_queries_sent_together_are_read_as_each_alone(store: EventStore) -> None:
    """Several lookups sent before any is read (in one psycopg pipeline on PostgreSQL) give the rows each
    gives when run and read alone, each its own."""
    store.append("vocabulary", events(party("us"), party("them")))
    stored = store.append("talks", events(statement("us"), statement("them")))
    ids = sorted(str(a.id) for a in stored.events)
    with store.db.writer.begin() as conn:
        alone = (
            _STORED_IDS.rows(conn, ids=ids),
            _VERSIONS.rows(conn, streams=["talks", "vocabulary", "nowhere"]),
            _LAST.rows(conn),
        )
        with _pipelined(conn, True):
            sent = (
                _STORED_IDS.send(conn, ids=ids),
                _VERSIONS.send(conn, streams=["talks", "vocabulary", "nowhere"]),
                _LAST.send(conn),
            )
            together = tuple(read() for read in reversed(sent))[::-1]  # read in another order than sent
    assert together == alone
    found, versions, last = together
    assert sorted(row.id for row in found) == ids
    assert {row.stream: row.version for row in versions} == {"talks": 2, "vocabulary": 2, "nowhere": None}
    assert [row.position for row in last] == [4] and len(last[0].hash) == 64
