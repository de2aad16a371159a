"""Process-wide log set-up: one line per record, as text or JSON, on stderr.

Called once by the command line. Records may carry structured fields in
``extra={"fields": {...}}`` (the access log does): the text format appends
them as ``key=value``, the JSON format as keys of the object. Nothing is
coloured: log files and journald get plain text.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER message key=value ...`` (a traceback on the following lines)."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        in_message = getattr(record, "fields_in_message", ())
        for key, value in _fields(record).items():
            if value is None or value == "" or key in in_message:
                continue
            text = str(value)
            if any(c.isspace() for c in text) or '"' in text:
                text = json.dumps(text)
            parts.append(f"{key}={text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the fields, a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        document.update(_fields(record))
        if record.exc_info:
            document["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(document, default=str)


def configure(log_format: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """Replace the root logger's handlers with one stderr handler in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
    # werkzeug's own request lines would duplicate the access log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
