"""The indicator contract of ``velib-projet-final-data``: what the job promises and the verifier checks.

One JSON object per (snapshot, postcode), keyed ``"<snapshot_time>|<postcode>"``; the
fields and their meaning are in README's "Indicator contract". Both the Spark job and
the independent reference computation (``verify.reference``) build rows of this shape.
"""

from __future__ import annotations

from typing import Any

UNKNOWN_POSTCODE = "unknown"
FIELDS = ("snapshot_time", "postcode", "stations", "bikes_available", "mechanical", "ebike", "docks_available")
COUNT_FIELDS = FIELDS[2:]

Indicator = dict[str, Any]


def indicator_key(snapshot_time: str, postcode: str) -> str:
    return f"{snapshot_time}|{postcode}"
