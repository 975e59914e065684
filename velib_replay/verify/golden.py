"""Golden files: indicator rows in a canonical JSON-lines form that diffs well and never reorders.

A golden file is the verdict's reference, so a malformed one is refused with its file and line
number rather than read as fewer (or other) rows than it holds.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from velib_replay.errors import UserError, read_user_text
from velib_replay.job.contract import Indicator, indicator_key

KEY_FIELDS = ("snapshot_time", "postcode")


def canonical_lines(indicators: Mapping[str, Indicator]) -> list[str]:
    """Golden-file form: one sorted-key JSON object per line, rows sorted by key."""
    return [json.dumps(indicators[key], sort_keys=True, ensure_ascii=False) for key in sorted(indicators)]


def write_golden(path: Path, indicators: Mapping[str, Indicator]) -> None:
    """Write through a temporary file, so a failed write never leaves half a golden file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text("".join(line + "\n" for line in canonical_lines(indicators)), encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise UserError(f"cannot write golden file {path}: {error.strerror or error}") from None


def read_golden(path: Path) -> dict[str, Indicator]:
    """The rows of a golden file by key; a malformed line is a UserError naming the file and line."""
    rows: dict[str, Indicator] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(read_user_text(path, "golden file").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = _parse_row(line)
        except ValueError as error:
            raise UserError(f"golden file {path}, line {number}: {error}") from None
        key = indicator_key(row["snapshot_time"], row["postcode"])
        if key in rows:
            repeat = f"a second row for {key} (first on line {first_line[key]})"
            raise UserError(f"golden file {path}, line {number}: {repeat}")
        rows[key], first_line[key] = row, number
    return rows


def _parse_row(line: str) -> Indicator:
    try:
        row = json.loads(line, object_pairs_hook=_object_without_repeats)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    for name in KEY_FIELDS:
        if not isinstance(row.get(name), str):
            raise ValueError(f"{name} missing or not a string")
    return row


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"field {repeated[0]!r} appears twice in this row")
    return dict(pairs)
