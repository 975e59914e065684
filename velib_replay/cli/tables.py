"""Plain-text tables for people: the indicators after a run, replay statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from velib_replay.contracts.indicators import Indicator
from velib_replay.report.data import TOTAL_FIELDS, latest_by_postcode, network_totals


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Left-aligned text columns, numbers right-aligned."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [max(len(header), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]
    numeric = [all(isinstance(row[i], int) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in cells)]).rstrip()


def totals_table(indicators: Mapping[str, Indicator]) -> str:
    """One line per snapshot: the network's totals (``report.data.network_totals``), and how many postcodes."""
    postcodes = Counter(row["snapshot_time"] for row in indicators.values())
    rows = [[time, postcodes[time], *total.values()] for time, total in network_totals(indicators.values()).items()]
    return table(rows, ["snapshot_time", "postcodes", *TOTAL_FIELDS])


def latest_table(indicators: Mapping[str, Indicator]) -> str:
    """The most recent snapshot (``report.data.latest_by_postcode``), one line per postcode."""
    latest, by_postcode = latest_by_postcode(indicators.values())
    if latest is None:
        return "(no indicators)"
    rows = [[postcode, *(row[name] for name in TOTAL_FIELDS)] for postcode, row in sorted(by_postcode.items())]
    return f"snapshot {latest}\n" + table(rows, ["postcode", *TOTAL_FIELDS])
