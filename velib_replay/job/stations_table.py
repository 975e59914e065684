"""The static station table the job joins on (``stationCode`` → ``postcode``)."""

from __future__ import annotations

import csv
from pathlib import Path


def load_postcodes(table: Path) -> dict[str, str]:
    """stationCode → postcode from the station table; empty postcodes are left out."""
    with open(table, newline="", encoding="utf-8") as handle:
        return {row["stationCode"]: row["postcode"] for row in csv.DictReader(handle) if row.get("postcode")}
