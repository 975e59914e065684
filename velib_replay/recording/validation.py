"""Lenient validation of recorded bodies against MobilityData's GBFS JSON schemas: findings are counted and
reported (``info``), never a reason to refuse a body. Vélib's own feed declares no version and has hundreds of
findings against v1.0 (its ``station_id`` is a number), yet it is the feed this tool was made for.

The schemas are the ones the ``gbfs-validator`` package ships, read as data; ``jsonschema`` checks them. That
package needs Python 3.11+: on 3.10 it is not installed and nothing is judged (no count, never a false zero).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema

from velib_replay.contracts.feed import declared_version

UNDECLARED = "1.0"  # a feed without a version field is v1.0 by the specification


def schema_version(body: bytes) -> str:
    """The version whose schemas judge a body: the one it declares (major.minor), else 1.0."""
    declared = declared_version(body) or UNDECLARED
    return ".".join(declared.split(".")[:2])


@functools.cache
def _validator(version: str, feed: str) -> Any | None:
    try:
        schemas = resources.files("gbfs_validator") / "data" / "schemas"
    except ModuleNotFoundError:  # Python 3.10 (see the module's docstring)
        return None
    schema_file = schemas / f"v{version}" / f"{feed}.json"
    if not schema_file.is_file():
        return None
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def findings(feed: str, body: bytes) -> int | None:
    """How many places of ``body`` break its version's schema for ``feed``; None when there is no such schema
    (an unknown version or feed) or the body is not JSON."""
    validator = _validator(schema_version(body), feed)
    if validator is None:
        return None
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return sum(1 for _ in validator.iter_errors(document))
