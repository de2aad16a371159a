"""The access line of a 5xx is at ERROR with the traceback beside it; the request id is echoed."""

from __future__ import annotations

import io
import json
import logging

from mintstore import log_format
from mintstore.web import ServerConfig, create_app


def test_a_5xx_is_logged_with_its_traceback() -> None:
    app = create_app(ServerConfig(store_url="memory://five-hundred"))

    def broken() -> str:
        raise RuntimeError("the disk is on fire")

    app.add_url_rule("/broken", "broken", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log_format.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        answer = app.test_client().get("/broken", headers={"X-Request-ID": "fire-1"})
        body = answer.get_data(as_text=True)
        answer.close()  # the access line is written when the server closes the response
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert answer.status_code == 500 and answer.headers["X-Request-ID"] == "fire-1"
    assert "disk is on fire" not in body  # no internals to clients
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    failure = next(line for line in lines if "traceback" in line)
    assert "RuntimeError: the disk is on fire" in failure["traceback"]
    access = next(line for line in lines if line["logger"] == "mintstore.access")
    assert access["level"] == "error" and access["status"] == 500
    assert access["request_id"] == "fire-1"


def test_text_lines_have_one_timestamp_and_no_colour() -> None:
    record = logging.LogRecord("mintstore.access", logging.INFO, "", 0, "GET / 200", (), None)
    record.fields = {"request_id": "abc", "status": 200, "reason": "two words"}
    record.fields_in_message = ("status",)
    line = log_format.TextFormatter().format(record)
    assert line.count("Z ") == 1 and "\x1b[" not in line
    assert line.endswith('GET / 200 request_id=abc reason="two words"')
