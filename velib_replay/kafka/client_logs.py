"""The Kafka client libraries' own log lines: quiet unless something fails, for every caller.

kafka-python logs to the ``kafka.*`` loggers, and the librdkafka publisher routes librdkafka's lines to
``librdkafka``. Left alone, a library caller (the pytest plugin, ``bench/``, a user's script) sees librdkafka's
``GETPID ... Coordinator load in progress: retrying`` right after a broker starts, and kafka-python's connection
chatter: retries they recover from, not news. A failure reaches the caller as velib-replay's own one-line error
(unreachable broker, undelivered messages), so only their fatal lines are shown, one line each. Importing
``velib_replay.kafka`` sets this up unless the caller configured those loggers already; ``--log-format json``
passes their warnings and errors on to the log shipper instead.
"""

from __future__ import annotations

import logging
import sys

CLIENT_LOGGERS = ("kafka", "librdkafka")


class _Stderr(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each line, as logging's last resort does (click's test runner swaps it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_fatal_lines = _Stderr()
_fatal_lines.setFormatter(logging.Formatter("Kafka client %(levelname)s: %(message)s"))


def client_libraries(log_format: str = "text") -> None:
    """Text: only the libraries' fatal (critical) lines, one each; JSON: their warnings and errors, propagated."""
    for name in CLIENT_LOGGERS:
        _configure(logging.getLogger(name), log_format)


def quiet_unless_configured() -> None:
    """The text default, for each of those loggers the caller has not configured (a level, a handler) itself.

    kafka-python gives its logger a ``NullHandler`` when imported: that is no configuration of the caller's.
    """
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET and all(type(h) is logging.NullHandler for h in logger.handlers):
            _configure(logger, "text")


def _configure(logger: logging.Logger, log_format: str) -> None:
    logger.setLevel(logging.WARNING if log_format == "json" else logging.CRITICAL)
    logger.handlers = [] if log_format == "json" else [_fatal_lines]
    logger.propagate = log_format == "json"
