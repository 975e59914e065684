"""A readable difference between expected and actual keyed rows, key by key and field by field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Difference:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: dict[str, dict[str, tuple]] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.changed)


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> Difference:
    difference = Difference(
        missing=sorted(set(expected) - set(actual)),
        extra=sorted(set(actual) - set(expected)),
    )
    for key in sorted(set(expected) & set(actual)):
        changes = _changed_fields(expected[key], actual[key])
        if changes:
            difference.changed[key] = changes
    return difference


def _changed_fields(want: Any, got: Any) -> dict[str, tuple]:
    """Field by field for two JSON objects; a value that is no object is compared whole, as ``value``."""
    if not (isinstance(want, dict) and isinstance(got, dict)):
        return {"value": (want, got)} if want != got else {}
    return {
        name: (want.get(name), got.get(name))
        for name in sorted(set(want) | set(got))
        if want.get(name) != got.get(name)
    }


def describe(difference: Difference, *, limit: int = 20) -> str:
    """A readable diff: missing, extra and changed rows, the first ``limit`` of each."""
    lines = [f"{len(difference.missing)} missing, {len(difference.extra)} extra, {len(difference.changed)} changed"]
    for label, keys in (("missing", difference.missing), ("extra", difference.extra)):
        lines += [f"  {label}: {key}" for key in keys[:limit]]
        if len(keys) > limit:
            lines.append(f"  ... and {len(keys) - limit} more {label}")
    for key, changes in list(difference.changed.items())[:limit]:
        detail = ", ".join(f"{name}: expected {want!r}, got {got!r}" for name, (want, got) in changes.items())
        lines.append(f"  changed: {key}: {detail}")
    if len(difference.changed) > limit:
        lines.append(f"  ... and {len(difference.changed) - limit} more changed")
    return "\n".join(lines)
