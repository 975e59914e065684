"""``--log-format json``: one JSON object per line, for log shippers (journald, Loki, Elasticsearch).

The facts a status line shows in text travel as fields (``extra={"facts": {...}}``), so a machine
reads ``snapshots`` rather than parsing ``| snapshots 12 |``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from velib_replay.capture.recorder import StatusLine

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(message)s"

log = logging.getLogger("velib_replay.status")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time (UTC, ISO), level, logger, message, then the record's facts."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        event: dict[str, Any] = {
            "time": stamp,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(getattr(record, "facts", {}))
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(event, default=str)


def handler(log_format: str) -> logging.Handler:
    """A stderr handler writing ``text`` lines (time, level, message) or ``json`` lines."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    return stream


def relay_stderr_as_json() -> None:
    """From now on, every line written to file descriptor 2 reaches stderr as one JSON object.

    Not only Python's logging writes there: the JVM Spark runs in (its launcher's ``WARNING: Using incubator
    modules``, log4j), librdkafka, a library's stray ``print``. Descriptor 2 becomes a pipe, which child processes
    inherit; a thread copies each line to the real stderr, a line that is a JSON object already as it is, any other
    wrapped as ``{"level": "info", "logger": "stderr", "message": ...}``. At exit the pipe is drained.
    """
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    relay = threading.Thread(target=_relay, args=(read_end, real), name="stderr-json", daemon=True)
    relay.start()

    def drain() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
            os.dup2(real, 2)  # our end of the pipe closes: the relay ends once children holding it have exited
        relay.join(timeout=5)
        os.close(real)

    atexit.register(drain)


def _relay(read_end: int, real: int) -> None:
    """Copy the pipe's lines to the real stderr; once that is gone (a closed pipe: EPIPE), keep reading and drop
    them, or the pipe would fill and every writer of descriptor 2, the JVM included, would block for ever."""
    with os.fdopen(read_end, "rb") as lines, os.fdopen(real, "wb", buffering=0, closefd=False) as out:
        for raw in lines:
            if out.closed:
                continue
            try:
                out.write((as_json_line(raw.decode("utf-8", "replace").rstrip("\r\n")) + "\n").encode())
            except OSError:
                out.close()


def as_json_line(line: str) -> str:
    """``line`` if it is a JSON object already, else a JSON event holding it (its level guessed from its words)."""
    with contextlib.suppress(ValueError):
        if isinstance(json.loads(line), dict):
            return line
    level = (
        "warning" if re.search(r"\b(WARN|WARNING)\b", line) else "error" if re.search(r"\bERROR\b", line) else "info"
    )
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({"time": stamp, "level": level, "logger": "stderr", "message": line})


def announce(text: str, log_format: str) -> None:
    """A command's opening line on stderr: echoed as is in text, an ``event: start`` line in JSON."""
    if log_format == "json":
        log.info(text, extra={"facts": {"event": "start"}})
    else:
        print(text, file=sys.stderr, flush=True)


class JsonStatusLine(StatusLine):
    """A status line as JSON events: each refresh logs ``event: status`` with ``facts()``, each note a warning."""

    def __init__(self, facts: Callable[[], dict[str, Any]]):
        super().__init__(sys.stderr, tty=False)
        self.facts = facts

    def show(self, text: str) -> None:
        log.info(text, extra={"facts": {"event": "status", **self.facts()}})

    def note(self, text: str) -> None:
        log.warning(text, extra={"facts": {"event": "warning"}})


def status_line(log_format: str, facts: Callable[[], dict[str, Any]]) -> StatusLine:
    """The status line a command shows: the usual one for ``text``, JSON events for ``json``."""
    return JsonStatusLine(facts) if log_format == "json" else StatusLine()
