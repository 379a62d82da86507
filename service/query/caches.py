"""A bounded map for what a process keeps between requests: decoded events and encoded parts of answers."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Kept(Generic[K, V]):
    """At most ``capacity`` entries (0: none); when full it empties itself and starts again.

    Everything kept can be made again from the database, so forgetting all at once is safe, and it costs
    no bookkeeping on a hit. Callers keep what they found for the request in hand: a later ``keep`` in
    the same request may empty the map.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[K, V] = {}

    def get(self, key: K, default: V | None = None) -> V | None:
        return self._entries.get(key, default)

    def __len__(self) -> int:
        return len(self._entries)

    def keep(self, key: K, value: V) -> V:
        if self.capacity > 0:
            if len(self._entries) >= self.capacity:
                self._entries.clear()
            self._entries[key] = value
        return value
