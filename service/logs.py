"""Log lines: one per request (``service.api.middleware``), and whatever else the service, Litestar and
granian log, in one shape: text for people, or one JSON object a line (``TIMELINE_LOG_FORMAT=json``) for a
log collector.

The standard library's logging, configured through Litestar's ``LoggingConfig``: its queue handler formats
a line in the thread that logs it and writes it from a thread of its own, so a request never waits on a
slow terminal or pipe. A line carries the fields it was given (``extra={"fields": {...}}``), never a
request's headers. As a last guard, anything that looks like a bearer credential is masked in every line,
whoever logged it: no token may reach a log.
"""

from __future__ import annotations

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


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


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
