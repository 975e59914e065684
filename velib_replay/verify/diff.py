"""A readable difference between expected and actual indicator rows, key by key and field by field."""

from __future__ import annotations

from dataclasses import dataclass, field

from velib_replay.job.contract import Indicator


@dataclass
class Difference:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: dict[str, dict[str, tuple]] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.changed)


def compare(expected: dict[str, Indicator], actual: dict[str, Indicator]) -> Difference:
    difference = Difference(
        missing=sorted(set(expected) - set(actual)),
        extra=sorted(set(actual) - set(expected)),
    )
    for key in sorted(set(expected) & set(actual)):
        fields = set(expected[key]) | set(actual[key])
        changes = {
            f: (expected[key].get(f), actual[key].get(f))
            for f in sorted(fields)
            if expected[key].get(f) != actual[key].get(f)
        }
        if changes:
            difference.changed[key] = changes
    return difference


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
