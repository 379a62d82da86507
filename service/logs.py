"""Log lines: one per request (``service.api.middleware``), and whatever else the service, Litestar and
granian log, in one shape: text for people, or one JSON object a line (``TIMELINE_LOG_FORMAT=json``) for a
log collector.

The standard library's logging, configured through Litestar's ``LoggingConfig``: its queue handler formats
a line in the thread that logs it and writes it from a thread of its own, so a request never waits on a
slow terminal or pipe. Request lines, one per request, go through a handler of their own instead
(``BatchedStreamHandler``): formatted at once, written together at the end of the event loop's turn. A
line carries the fields it was given (``extra={"fields": {...}}``), never a
request's headers. As a last guard, anything that looks like a bearer credential is masked in every line,
whoever logged it: no token may reach a log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import msgspec

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_ENCODE = msgspec.json.Encoder()  # built once: a line is encoded on every request


def masked(line: str) -> str:
    """``line`` with any bearer credential in it replaced by ``***``."""
    return _BEARER.sub(r"\1***", line) if "earer" in line else line


# the last second formatted, and how (strftime costs more than the rest of a line); one tuple, read
# once, so that a thread formatting another second cannot mix the two
_last_second: list[tuple[int, str]] = [(-1, "")]


def _timestamp(record: logging.LogRecord) -> str:
    second = int(record.created)
    known, text = _last_second[0]
    if known != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second[0] = (second, text)
    return f"{text}.{int(record.msecs):03d}Z"


class BatchedStreamHandler(logging.StreamHandler):
    """A stream handler that formats each line when it is logged and writes every line of an event loop's
    turn in one write, once the turn's callbacks have run (at once where no loop runs).

    Why: a write lets go of the GIL, and while it is let go the group committer's thread takes it, so a
    request that wrote its own line waited for that thread before answering the next one. Measured with
    32 clients appending (bench/writes.py's load, SQLite): a write for each line cost a sixth of the
    appends a second; the answers of one commit group end in the same turn, so their lines now share a
    write. A line is never held past the turn it was logged in."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if len(self._lines) == 1:  # the first of this turn: write them all once the turn is done
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # logged outside an event loop
                self.flush()

    def flush(self) -> None:
        with self.lock:
            lines, self._lines = self._lines, []
            if lines:
                self.stream.write(self.terminator.join(lines) + self.terminator)
            super().flush()

    def close(self) -> None:
        self.flush()
        super().close()


class TextFormatter(logging.Formatter):
    """``2026-12-01T10:00:00.123Z INFO service.requests[pid] request method=GET route=/state status=200 …``"""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", None) or {}
        parts = [
            _timestamp(record),
            record.levelname,
            f"{record.name}[{record.process}]",
            record.getMessage(),
        ]
        parts += [f"{key}={value}" for key, value in fields.items() if value is not None]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return masked(line)


class JsonFormatter(logging.Formatter):
    """``{"time": …, "level": "info", "logger": …, "pid": …, "message": …, <fields>}``, one object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which server process: several serve one port
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return masked(_ENCODE.encode(line).decode())


def formatter(log_format: str) -> type[logging.Formatter]:
    """The formatter of ``TIMELINE_LOG_FORMAT`` (checked by the settings)."""
    return JsonFormatter if log_format == "json" else TextFormatter


def granian_config(log_format: str) -> dict[str, Any]:
    """The logging configuration the server processes start with (granian's own lines in the same shape;
    its access log stays off: the app writes one line per request itself)."""
    handler = {"class": "logging.StreamHandler", "formatter": "service", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"service": {"()": formatter(log_format)}},
        "handlers": {"console": handler},
        "loggers": {"_granian": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }
