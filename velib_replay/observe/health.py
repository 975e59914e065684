"""``/healthz``: the first failing check decides, so an operator reads one reason, not a report.

A check is a function returning None when fine, else a one-line reason. The thresholds
(how stale a feed, how far behind a job) are the commands' options, defaults in ``config``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

Check = Callable[[], "str | None"]

OK, UNHEALTHY = 200, 503


def verdict(checks: Sequence[Check]) -> tuple[int, bytes]:
    """HTTP status and one-line JSON body: 200 ``{"status": "ok"}``, or 503 with the first problem's reason."""
    for check in checks:
        reason = check()
        if reason:
            return UNHEALTHY, _line({"status": "unhealthy", "reason": reason})
    return OK, _line({"status": "ok"})


def _line(document: dict[str, str]) -> bytes:
    return json.dumps(document).encode() + b"\n"


def at_most(what: str, value: Callable[[], float | None], limit: float, unit: str) -> Check:
    """A check failing once ``value()`` exceeds ``limit`` (an unknown value, None, passes)."""

    def check() -> str | None:
        current = value()
        if current is not None and current > limit:
            return f"{what} is {current:g} {unit}, above the threshold of {limit:g} {unit}"
        return None

    return check
