"""Golden files: keyed rows in a canonical JSON-lines form that diffs well, never reorders, and says its form.

Any pipeline's output fits one of three forms, chosen by ``key_fields``:

- field names (the indicators' ``snapshot_time,postcode``): one row per line, its key made of those fields;
- ``()``: one row per line, the whole row is its key (rows that have no natural key);
- ``None``: one ``{"key": ..., "value": ...}`` entry per line (a keyed topic, a mapping).

A file written now starts with a header line naming its form and key fields
(``{"velib_golden": 1, "form": "rows", "key_fields": ["postcode"]}``), so readers need not be told the
form again, and can key its rows as the compared side is keyed: by the requested fields (any form converts,
its rows having those fields), or by the file's own keys. Files without a header (written before it) are
read as they are: entries when their first line is one, else rows keyed by the reader's default fields.

A golden file is the verdict's reference, so a malformed one is refused with its file and line
number rather than read as fewer (or other) rows than it holds.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from velib_replay.errors import UserError, read_user_text
from velib_replay.verify.keys import field_key

KEY_FIELDS = ("snapshot_time", "postcode")
ENTRY_FIELDS = {"key", "value"}
HEADER_FIELD, VERSION = "velib_golden", 1
ROWS, ENTRIES = "rows", "entries"

KeyFields = Sequence[str] | None


@dataclass(frozen=True)
class Form:
    """How a golden file's lines are keyed: entries (their own ``key``), or rows keyed by ``key_fields``."""

    key_fields: tuple[str, ...] | None  # None: entries

    @classmethod
    def of(cls, key_fields: KeyFields) -> Form:
        return cls(None if key_fields is None else tuple(key_fields))

    def header(self) -> dict[str, Any]:
        fields = None if self.key_fields is None else list(self.key_fields)
        return {HEADER_FIELD: VERSION, "form": ENTRIES if self.key_fields is None else ROWS, "key_fields": fields}


def canonical(value: Any) -> str:
    """One value's canonical JSON text: sorted keys, UTF-8 as it is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def canonical_lines(rows: Mapping[str, Any], key_fields: KeyFields = KEY_FIELDS) -> list[str]:
    """Golden-file form: the header line, then one canonical JSON line per row, rows sorted by key."""
    form = Form.of(key_fields)
    if form.key_fields is None:
        lines = [canonical({"key": key, "value": rows[key]}) for key in sorted(rows)]
    else:
        lines = [canonical(rows[key]) for key in sorted(rows)]
    return [json.dumps(form.header(), ensure_ascii=False), *lines]


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


def read_golden(
    path: Path, key_fields: KeyFields | None = None, *, default_fields: KeyFields = KEY_FIELDS
) -> dict[str, Any]:
    """The rows of a golden file by key; a malformed line is a UserError naming the file and line.

    ``key_fields`` says how the compared side is keyed: by those value fields (the file's rows are keyed by
    them, whatever its form), or None, by its own keys (Kafka keys, a mapping's): the file's keys then, its
    entries' or its rows' by the header's fields. ``default_fields`` keys the rows of a file without a header.
    """
    rows: dict[str, Any] = {}
    first_line: dict[str, int] = {}
    form: Form | None = None
    for number, line in enumerate(read_user_text(path, "golden file").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            parsed = _parse(line)
            if form is None:
                form = _header(parsed) if _is_header(parsed) else _legacy_form(parsed, key_fields, default_fields)
                if _is_header(parsed):
                    continue
            elif _is_header(parsed):
                raise ValueError("a second header line")
            key, row = keyed_row(parsed, form.key_fields)
            if key_fields is not None and tuple(key_fields) != form.key_fields:
                key = keyed_row(row, key_fields)[0]  # converted: keyed as the compared side is
        except ValueError as error:
            raise UserError(f"golden file {path}, line {number}: {error}") from None
        if key in rows:
            repeat = f"a second row for {key} (first on line {first_line[key]})"
            raise UserError(f"golden file {path}, line {number}: {repeat}")
        rows[key], first_line[key] = row, number
    return rows


def _is_header(parsed: Any) -> bool:
    return isinstance(parsed, dict) and HEADER_FIELD in parsed


def _header(parsed: dict[str, Any]) -> Form:
    """The form a header line names; ValueError when it is not one this version writes."""
    form, fields = parsed.get("form"), parsed.get("key_fields")
    if parsed.get(HEADER_FIELD) != VERSION or set(parsed) != {HEADER_FIELD, "form", "key_fields"}:
        raise ValueError(f'not a golden header this version reads ({{"{HEADER_FIELD}": {VERSION}, "form": ...}})')
    if form == ENTRIES and fields is None:
        return Form(None)
    if form == ROWS and isinstance(fields, list) and all(isinstance(name, str) and name for name in fields):
        return Form(tuple(fields))
    raise ValueError('header: "form" is "entries" (key_fields null) or "rows" (key_fields a list of field names)')


def _legacy_form(first: Any, key_fields: KeyFields | None, default_fields: KeyFields) -> Form:
    """The form of a file written before headers: entries when its first line is one, else rows."""
    if isinstance(first, dict) and set(first) == ENTRY_FIELDS and isinstance(first["key"], str):
        return Form(None)
    if key_fields is not None:
        return Form.of(key_fields)
    if default_fields is None:
        raise ValueError("rows without a header naming their key fields: give the key fields (--key-fields)")
    return Form.of(default_fields)


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
