"""Structured JSON logs with the standard library only.

In Lambda the function's log format is JSON (set by the stack), and the runtime renders ``extra`` fields as
top-level keys. Elsewhere (the local simulation, a shell) :func:`configure` installs an equivalent formatter.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "guardian"
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
FIELD_LIMIT = 16 * 1024  # characters of one string field of a log line (the raw event has its own 64 KiB bound)


class SafeFields(logging.Filter):
    """Every extra field of a log line made safe to write: strings escaped (a lone surrogate from an event would make
    the line fail to encode, and be lost) and cut at :data:`FIELD_LIMIT`; objects that would not encode, rendered."""

    def filter(self, record: logging.LogRecord) -> bool:
        from guardian.model.safe import cut, json_text, text  # noqa: PLC0415 - first log line, not the cold start

        for name, value in list(vars(record).items()):
            if name in _STANDARD:
                continue
            if isinstance(value, str):
                setattr(record, name, cut(text(value), FIELD_LIMIT))
            elif isinstance(value, dict | list):
                try:
                    json.dumps(value, ensure_ascii=False, default=str).encode()
                except (UnicodeEncodeError, TypeError, ValueError):
                    setattr(record, name, cut(json_text(value), FIELD_LIMIT * 4))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def configure() -> None:
    """Make every handler's lines safe (:class:`SafeFields`); outside Lambda (no handler on the root logger), emit one
    JSON object per line on stderr."""
    logger = get_logger()
    logger.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [*logging.getLogger().handlers, *logger.handlers]
    if not handlers:
        ours = logging.StreamHandler()
        ours.setFormatter(JsonFormatter())
        logger.addHandler(ours)
        handlers = [ours]
    for handler in handlers:
        if not any(isinstance(f, SafeFields) for f in handler.filters):
            handler.addFilter(SafeFields())
