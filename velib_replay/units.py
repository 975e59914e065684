"""The syntaxes people type and read for speeds, durations, offsets and sizes, each parsed in one place.

The CLI's parameter types call the parsers (so every command gives the same error for
the same mistake); the library takes the typed values they return.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_speed(text: str) -> float | None:
    """``10x``, ``0.5x``, ``60`` → the multiplier; ``max`` → None (no waiting)."""
    cleaned = text.strip().lower()
    if cleaned in ("max", "top", "inf"):
        return None
    try:
        speed = float(cleaned.removesuffix("x"))
    except ValueError:
        raise ValueError(f"speed {text!r}: use a positive multiplier such as 1x, 10x, 0.5x, or max") from None
    if not (1e-6 <= speed < math.inf):
        raise ValueError(f"speed {text!r}: must be a multiplier from 0.000001x up, or max")
    return speed


def parse_duration(text: str) -> float:
    """``90m``, ``2h``, ``45s``, ``500ms``, ``1.5d`` or plain seconds → seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"duration {text!r}: use a number with ms, s, m, h or d (e.g. 90m, 2h)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset) as an aware UTC datetime; ValueError when it is not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z for UTC)")
    return moment.astimezone(timezone.utc)


def parse_offset(text: str) -> timedelta | datetime:
    """An offset into a recording: a duration from its start (``90m``), or an ISO time (``…T09:15:00Z``)."""
    try:
        return timedelta(seconds=parse_duration(text))
    except OverflowError:
        raise ValueError(f"offset {text!r}: longer than any recording can be") from None
    except ValueError:
        pass
    try:
        return parse_time(text)
    except ValueError:
        raise ValueError(
            f"offset {text!r}: use a duration from the start (90m) or an ISO time (2025-10-18T09:15:00Z)"
        ) from None


def format_duration(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def format_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


_INTERVAL_TERM = re.compile(r"(\d+(?:\.\d+)?)\s+(microsecond|millisecond|second|minute|hour|day|week)s?\b", re.I)
_INTERVAL_SECONDS = {"microsecond": 1e-6, "millisecond": 1e-3, "second": 1, "minute": 60, "hour": 3600}
_INTERVAL_SECONDS |= {"day": 86400, "week": 7 * 86400}


def spark_interval_seconds(text: str) -> float:
    """Spark's interval syntax (``2 hours``, ``1 minute 30 seconds``) → seconds, for computing what Spark does."""
    terms = _INTERVAL_TERM.findall(text)
    if not terms or _INTERVAL_TERM.sub("", text).strip().lower() not in ("", "interval"):
        raise ValueError(f"interval {text!r}: use a number and a unit, e.g. '2 hours' or '90 minutes'")
    return sum(float(number) * _INTERVAL_SECONDS[unit.lower()] for number, unit in terms)
