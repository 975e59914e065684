"""Plain-text tables for people: the indicators after a run, replay statistics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from velib_replay.verify.reference import FIELDS, Indicator

COUNT_FIELDS = FIELDS[2:]


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Left-aligned text columns, numbers right-aligned."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [max(len(header), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]
    numeric = [all(isinstance(row[i], int) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in cells)]).rstrip()


def totals_by_snapshot(indicators: Mapping[str, Indicator]) -> str:
    """One line per snapshot: the network's totals, and how many postcodes they span."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0] * (len(COUNT_FIELDS) + 1))
    for row in indicators.values():
        total = sums[row["snapshot_time"]]
        total[0] += 1
        for i, name in enumerate(COUNT_FIELDS, start=1):
            total[i] += row[name]
    rows = [[time, *values] for time, values in sorted(sums.items())]
    return table(rows, ["snapshot_time", "postcodes", *COUNT_FIELDS])


def latest_by_postcode(indicators: Mapping[str, Indicator]) -> str:
    """The most recent snapshot, one line per postcode."""
    if not indicators:
        return "(no indicators)"
    latest = max(row["snapshot_time"] for row in indicators.values())
    rows = sorted((row for row in indicators.values() if row["snapshot_time"] == latest), key=lambda r: r["postcode"])
    return f"snapshot {latest}\n" + table(
        [[r["postcode"], *(r[n] for n in COUNT_FIELDS)] for r in rows], ["postcode", *COUNT_FIELDS]
    )
