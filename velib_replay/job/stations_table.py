"""The static station table the job joins on (``stationCode`` → ``postcode``), shared with the verifier.

A table that cannot be read as meant is refused with a one-line error naming the file (and the line), never
read as "every station unknown": a wrong header, encoding or delimiter would otherwise pass silently.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from velib_replay.errors import UserError, read_user_text
from velib_replay.recording import Recording

REQUIRED_COLUMNS = ("stationCode", "postcode")
_OTHER_DELIMITERS = (";", "\t", "|")


def load_postcodes(table: Path) -> dict[str, str]:
    """stationCode → postcode from the station table; empty postcodes are left out, as before.

    A recording folder in place of the table gives the areas its system publishes (``Recording.areas``).

    Raises UserError when the file is not UTF-8 (a BOM is fine), empty, not comma-separated, lacks the
    required columns, or gives one code two different postcodes (exact duplicate rows are fine).
    """
    if table.is_dir():
        return Recording(table).areas()
    rows = csv.reader(io.StringIO(read_user_text(table, "stations table"), newline=""))
    header = next(rows, None)
    if not header or not any(cell.strip() for cell in header):
        raise UserError(f"stations table {table} is empty: it needs a header with {_required()}")
    columns = [cell.strip() for cell in header]
    _check_header(table, columns)
    return _postcodes(table, columns, rows)


def _check_header(table: Path, columns: list[str]) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if not missing:
        return
    if len(columns) == 1 and (delimiter := next((d for d in _OTHER_DELIMITERS if d in columns[0]), None)):
        raise UserError(
            f"stations table {table}, line 1: columns are separated by {delimiter!r}; "
            f"the table must be comma-separated with {_required()}"
        )
    raise UserError(
        f"stations table {table} has no {', '.join(missing)} column: it needs {_required()}, found {', '.join(columns)}"
    )


def _postcodes(table: Path, columns: list[str], rows: Iterator[list[str]]) -> dict[str, str]:
    code_at, postcode_at = columns.index("stationCode"), columns.index("postcode")
    seen: dict[str, str] = {}
    conflicts: dict[str, set[str]] = {}
    for row in rows:
        if not row:
            continue  # a blank line
        if len(row) != len(columns):
            raise UserError(
                f"stations table {table}, line {rows.line_num}: {len(row)} field(s) where the header has "
                f"{len(columns)} (the table must be comma-separated)"
            )
        code, postcode = row[code_at].strip(), row[postcode_at].strip()
        if not code:
            raise UserError(f"stations table {table}, line {rows.line_num}: empty stationCode")
        if seen.setdefault(code, postcode) != postcode:
            conflicts.setdefault(code, {seen[code]}).add(postcode)
    if conflicts:
        listed = "; ".join(
            f"{code}: {' / '.join(sorted(map(repr, codes)))}" for code, codes in sorted(conflicts.items())
        )
        raise UserError(f"stations table {table} gives different postcodes to the same stationCode: {listed}")
    return {code: postcode for code, postcode in seen.items() if postcode}


def _required() -> str:
    return " and ".join(f"{name!r}" for name in REQUIRED_COLUMNS) + " columns"
