"""Golden files: indicator rows in a canonical JSON-lines form that diffs well and never reorders."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from velib_replay.job.contract import Indicator, indicator_key


def canonical_lines(indicators: Mapping[str, Indicator]) -> list[str]:
    """Golden-file form: one sorted-key JSON object per line, rows sorted by key."""
    return [json.dumps(indicators[key], sort_keys=True, ensure_ascii=False) for key in sorted(indicators)]


def write_golden(path: Path, indicators: Mapping[str, Indicator]) -> None:
    path.write_text("".join(line + "\n" for line in canonical_lines(indicators)), encoding="utf-8")


def read_golden(path: Path) -> dict[str, Indicator]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {indicator_key(row["snapshot_time"], row["postcode"]): row for row in rows}
