"""The key of a row built from some of its fields, for outputs written without Kafka keys.

The original consumer writes its rows without keys; the row's own fields (a postcode, a time)
say which later row replaces it, and they must agree between the topic and its golden file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SEPARATOR = "|"


def parse_key_fields(text: str) -> tuple[str, ...]:
    """``snapshot_time,postcode`` → the field names, in order."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise ValueError(f"key fields {text!r}: give field names separated by commas, such as postcode,time")
    return names


def field_key(row: Any, fields: Sequence[str]) -> str:
    """``a|b`` from the row's fields (strings as they are, integers in decimal, a null or absent field as ``null``: a
    group by a column with nulls has a null group, and Spark's ``to_json`` drops null fields); ValueError naming a
    field of another type."""
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    parts = []
    for name in fields:
        value = row.get(name)
        if value is None:
            parts.append("null")
        elif isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"{name} not a string or integer")
        else:
            parts.append(str(value))
    return SEPARATOR.join(parts)
