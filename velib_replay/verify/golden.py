"""Golden files: keyed rows in a canonical JSON-lines form that diffs well and never reorders.

Any pipeline's output fits one of three forms, chosen by ``key_fields``:

- field names (the indicators' ``snapshot_time,postcode``): one row per line, its key made of those fields;
- ``()``: one row per line, the whole row is its key (rows that have no natural key);
- ``None``: one ``{"key": ..., "value": ...}`` entry per line (a keyed topic, a mapping).

A golden file is the verdict's reference, so a malformed one is refused with its file and line
number rather than read as fewer (or other) rows than it holds.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from velib_replay.errors import UserError, read_user_text
from velib_replay.verify.keys import field_key

KEY_FIELDS = ("snapshot_time", "postcode")
ENTRY_FIELDS = {"key", "value"}

KeyFields = Sequence[str] | None


def canonical(value: Any) -> str:
    """One value's canonical JSON text: sorted keys, UTF-8 as it is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def canonical_lines(rows: Mapping[str, Any], key_fields: KeyFields = KEY_FIELDS) -> list[str]:
    """Golden-file form: one canonical JSON line per row, rows sorted by key."""
    if key_fields is None:
        return [canonical({"key": key, "value": rows[key]}) for key in sorted(rows)]
    return [canonical(rows[key]) for key in sorted(rows)]


def write_golden(path: Path, rows: Mapping[str, Any], key_fields: KeyFields = KEY_FIELDS) -> None:
    """Write through a temporary file, so a failed write never leaves half a golden file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text("".join(line + "\n" for line in canonical_lines(rows, key_fields)), encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise UserError(f"cannot write golden file {path}: {error.strerror or error}") from None


def read_golden(path: Path, key_fields: KeyFields = KEY_FIELDS) -> dict[str, Any]:
    """The rows of a golden file by key; a malformed line is a UserError naming the file and line."""
    rows: dict[str, Any] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(read_user_text(path, "golden file").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            key, row = keyed_row(_parse(line), key_fields)
        except ValueError as error:
            raise UserError(f"golden file {path}, line {number}: {error}") from None
        if key in rows:
            repeat = f"a second row for {key} (first on line {first_line[key]})"
            raise UserError(f"golden file {path}, line {number}: {repeat}")
        rows[key], first_line[key] = row, number
    return rows


def keyed_row(row: Any, key_fields: KeyFields) -> tuple[str, Any]:
    """(key, row) of one line in the form ``key_fields`` names; ValueError saying what is wrong."""
    if key_fields is None:
        if not isinstance(row, dict) or set(row) != ENTRY_FIELDS or not isinstance(row["key"], str):
            raise ValueError('not a {"key": "...", "value": ...} entry')
        return row["key"], row["value"]
    if not key_fields:
        return canonical(row), row
    return field_key(row, key_fields), row


def _parse(line: str) -> Any:
    try:
        return json.loads(line, object_pairs_hook=_object_without_repeats)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at column {error.colno})") from None


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"field {repeated[0]!r} appears twice in this row")
    return dict(pairs)
