"""The syntaxes people type and read for speeds, durations, offsets and sizes, each parsed in one place.

The CLI's parameter types call the parsers (so every command gives the same error for
the same mistake); the library takes the typed values they return.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
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


_SPARK_UNIT = r"(?:microsecond|millisecond|second|minute|hour|day|week|month|year)s?"
_SPARK_TERM = re.compile(rf"\+?(\d+(?:\.\d+)?)\s+({_SPARK_UNIT})", re.IGNORECASE)
_SPARK_INTERVAL = re.compile(rf"^(?:interval\s+)?{_SPARK_TERM.pattern}(?:\s+{_SPARK_TERM.pattern})*$", re.IGNORECASE)
_DAY = 86400
# Spark's own durations (IntervalUtils.getDuration, which a watermark delay goes through): a month is 31 days
_SPARK_SECONDS = {"microsecond": 1e-6, "millisecond": 1e-3, "second": 1, "minute": 60, "hour": 3600, "day": _DAY}
_SPARK_SECONDS |= {"week": 7 * _DAY, "month": 31 * _DAY, "year": 12 * 31 * _DAY}


def parse_spark_interval(text: str, *, calendar: bool = True) -> str:
    """Spark's interval syntax ("2 hours", "5 seconds", "1 minute 30 seconds"), checked before Spark sees it.

    Only seconds may have a fraction; ``calendar=False`` refuses months and years, which triggers cannot use.
    """
    cleaned = " ".join(text.split())
    if not _SPARK_INTERVAL.match(cleaned):
        raise ValueError(
            f"interval {text!r}: use Spark's syntax, a number and a unit (e.g. '2 hours', '500 milliseconds')"
        )
    for value, unit in _SPARK_TERM.findall(cleaned):
        if "." in value and not unit.lower().startswith("second"):
            raise ValueError(f"interval {text!r}: only seconds may have a fraction ('{value} {unit}')")
        if not calendar and unit.lower().startswith(("month", "year")):
            raise ValueError(f"interval {text!r}: a trigger interval cannot be counted in months or years")
    return cleaned


def spark_interval_seconds(text: str) -> float:
    """An interval as Spark counts it for a watermark delay, in seconds: a month is 31 days, a year 12 months."""
    cleaned = parse_spark_interval(text)
    return sum(
        float(value) * _SPARK_SECONDS[unit.lower().removesuffix("s")] for value, unit in _SPARK_TERM.findall(cleaned)
    )


def fault_head(spec: str, syntaxes: Mapping[str, str]) -> tuple[str, list[str]]:
    """``KIND=PARAMS``, as ``play --inject`` and ``serve --inject`` both spell a fault: the kind (one of
    ``syntaxes``, e.g. ``{"late": "late=P:DELAY"}``) and its ``:``-separated params, as many as its syntax has."""
    kind, _, params = spec.strip().partition("=")
    kind = kind.strip().lower()
    if kind not in syntaxes:
        raise ValueError(f"fault {spec!r}: unknown kind {kind!r}; use one of {', '.join(syntaxes.values())}")
    parts = [part.strip() for part in params.split(":")]
    if len(parts) != syntaxes[kind].count(":") + 1 or not all(parts):
        raise ValueError(f"fault {spec!r}: use {syntaxes[kind]}")
    return kind, parts


def parse_probability(text: str) -> float:
    """A fault's P: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise ValueError(f"{text!r} is not a probability from 0 to 1")
    return value


def check_fault_set(kinds: Iterable[str], repeatable: Iterable[str] = ()) -> None:
    """The whole set of ``--inject`` faults: each kind once (``repeatable`` ones excepted), else ValueError."""
    seen: set[str] = set()
    for kind in kinds:
        if kind in seen and kind not in repeatable:
            raise ValueError(f"{kind} is given twice; give each kind once")
        seen.add(kind)
