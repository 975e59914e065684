"""The indicator contract of ``velib-projet-final-data``: what the job promises and the verifier checks.

One JSON object per (snapshot, postcode), keyed ``"<snapshot_time>|<postcode>"``; the
fields and their meaning are in docs/contracts.md ("Indicator contract"). Both the Spark job and
the independent reference computation (``verify.reference``) build rows of this shape,
and both judge a message with the rules below (the count rules are in ``contracts.feed``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

UNKNOWN_POSTCODE = "unknown"
INDICATOR_FIELDS = (
    "snapshot_time",
    "postcode",
    "stations",
    "bikes_available",
    "mechanical",
    "ebike",
    "docks_available",
)
COUNT_FIELDS = INDICATOR_FIELDS[2:]

Indicator = dict[str, Any]

STRPTIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"  # ASCII digits only, nothing around
# No feed time is older; Spark's watermark starts at the epoch, and parsers disagree on years before 1000.
EARLIEST_SNAPSHOT = 946684800  # 2000-01-01T00:00:00Z
MAX_FUTURE_S = 3600.0  # a snapshot_time later than now plus this is set aside, so it cannot push the watermark


class Reason:
    """Why a message was set aside in the quarantine topic (the ``problem`` field)."""

    NO_VALUE = "no value (a tombstone)"
    NOT_OBJECT = "not a JSON object"
    NO_STATION_CODE = "no stationCode"
    BAD_TIME = "no valid snapshot_time"
    FUTURE = "snapshot_time in the future"


def indicator_key(snapshot_time: str, postcode: str) -> str:
    return f"{snapshot_time}|{postcode}"


def snapshot_epoch(value: Any) -> int | None:
    """Epoch seconds of a valid ``snapshot_time``: a ``YYYY-MM-DDTHH:MM:SSZ`` string, a real date, from 2000."""
    if not (isinstance(value, str) and re.fullmatch(TIME_PATTERN, value)):
        return None
    try:
        epoch = int(datetime.strptime(value, STRPTIME_FORMAT).replace(tzinfo=timezone.utc).timestamp())
    except ValueError:
        return None
    return epoch if epoch >= EARLIEST_SNAPSHOT else None


def row_problem(row: Indicator) -> str | None:
    """Why an indicator row read back from a topic does not fit the contract (``without snapshot_time``); None
    when it does. Pages draw only fitting rows: a row from a user's job or a stray producer can hold anything."""
    time = row.get("snapshot_time")
    if time is None:
        return "without snapshot_time"
    if snapshot_epoch(time) is None:
        return "with an invalid snapshot_time"
    if not isinstance(row.get("postcode"), str):
        return "without a postcode string"
    for name in COUNT_FIELDS:
        value = row.get(name)
        if value is not None and type(value) is not int:
            return f"with {name} not an integer"
    return None
