"""The one exception type the CLI turns into a one-line message and a non-zero exit."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Something the user can fix (bad input, missing tool, unreachable service); the message says what."""


def read_user_text(path: Path, what: str) -> str:
    """A text file the user hands us (a station table, a golden file), decoded as UTF-8 with any BOM dropped.

    A file that cannot be read, or a byte that is not UTF-8, is a UserError naming the file and the line,
    so a table saved as Latin-1 is one line to fix, not a traceback.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {what} {path}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UserError(
            f"{what} {path}, line {line}: byte 0x{data[error.start]:02x} is not UTF-8 (save the file as UTF-8)"
        ) from None
