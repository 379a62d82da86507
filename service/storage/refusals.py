"""Why an append was refused. The web layer turns each into a problem response; nothing is stored."""

from __future__ import annotations


class AppendRefused(Exception):
    status = 422
    title = "Invalid event"

    def __init__(self, detail: str, pointer: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.pointer = pointer
        self.extra = extra
        self.batch = 0  # which batch of a multi-batch append it concerns


class VersionConflict(AppendRefused):
    status = 409
    title = "Stream version conflict"


class IdConflict(AppendRefused):
    status = 409
    title = "Event id already used"


class UnresolvedReference(AppendRefused):
    title = "Unresolved reference"
