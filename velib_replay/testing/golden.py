"""Golden files for any rows a test computes: canonical JSON lines, a readable diff, an update switch.

Rows are a mapping (key → JSON value) or a list of JSON values; a list is keyed by some of its fields
(``key``) or, without them, by each whole row. The file forms are ``verify.golden``'s, so
``velib-replay verify --golden`` reads what a test wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from velib_replay.verify.diff import compare, describe
from velib_replay.verify.golden import KeyFields, canonical, keyed_row, read_golden, write_golden

Rows = Mapping[Any, Any] | Iterable[Any]


class GoldenMismatch(AssertionError):
    """The rows differ from the golden file, or it is missing: the message says how, for a person to read."""


def keyed_rows(rows: Rows, key: Sequence[str] | str | None = None) -> tuple[dict[str, Any], KeyFields]:
    """The rows by key, as JSON gives them back, and the golden form that keeps those keys."""
    try:
        plain = json.loads(json.dumps(_as_json(rows, key), ensure_ascii=False, allow_nan=False))
    except ValueError as error:
        if "Out of range float" not in str(error):
            raise GoldenMismatch(f"rows are not JSON-able: {error}") from None
        raise GoldenMismatch("rows hold NaN or an infinite number, which JSON (and a golden file) cannot") from None
    except TypeError as error:
        raise GoldenMismatch(f"rows are not JSON-able: {error}") from None
    if isinstance(rows, Mapping):
        return plain, None
    fields = (key,) if isinstance(key, str) else tuple(key or ())
    keyed: dict[str, Any] = {}
    for row in plain:
        try:
            name, _ = keyed_row(row, fields)
        except ValueError as error:
            raise GoldenMismatch(f"row {canonical(row)[:200]}: {error}") from None
        if name in keyed:
            raise GoldenMismatch(f"two rows have the key {name}: give key= the fields that tell rows apart")
        keyed[name] = row
    return keyed, fields


def _as_json(rows: Rows, key: Sequence[str] | str | None) -> Any:
    if isinstance(rows, Mapping):
        if key is not None:
            raise GoldenMismatch("key= names the key fields of a list of rows; a mapping is keyed already")
        keyed: dict[str, Any] = {}
        for name, value in rows.items():
            text = str(name)
            if text in keyed:  # 1 and "1": one key in a golden file; merging them would hide a row
                types = " and ".join(type(other).__name__ for other in rows if str(other) == text)
                raise GoldenMismatch(
                    f"two keys read {text!r} ({types}): one key in a golden file; give the rows keys of one type"
                )
            keyed[text] = value
        return keyed
    return list(rows)


def check_golden(
    path: Path, rows: Rows, *, key: Sequence[str] | str | None = None, update: bool = False, limit: int = 20
) -> str:
    """Compare ``rows`` with the golden file at ``path`` (or write it, with ``update``); what happened, in words.

    Raises GoldenMismatch with the diff (missing, extra and changed keys, field by field, ``limit`` of each).
    Empty rows never pass: a job that wrote nothing is more likely broken than right.
    """
    actual, form = keyed_rows(rows, key)
    if not actual:
        raise GoldenMismatch(f"no rows to compare with {path} (has the job written anything?)")
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_golden(path, actual, form)
        return f"wrote {len(actual)} rows to golden file {path}"
    if not path.exists():
        raise GoldenMismatch(f"golden file {path} is missing: run pytest --velib-update-golden to write it")
    difference = compare(read_golden(path, form), actual)
    if not difference.equal:
        raise GoldenMismatch(f"rows differ from golden file {path}: {describe(difference, limit=limit)}")
    return f"{len(actual)} rows equal golden file {path}"
