"""A scenario file: a small TOML test case of the whole pipeline under faults, read and checked up front.

# what this scenario proves (a comment, for people)
recording = "recordings/sample"        # relative to the project folder, or absolute
partitions = 1                          # of the scenario's own status topic

[job]                                   # the job's options, as `process` takes them
watermark = "2 hours"
max_offsets_per_trigger = 200           # with one partition: fixed micro-batch boundaries

[[steps]]                               # run in order; each is one kind of step (see scenario.steps)
play = { stations = "16107,9020", limit = 3, inject = ["duplicate=0.5"], seed = 7 }
[[steps]]
process = {}

[expect]                                # always: the indicators equal the expectation
indicators = "reference"                # or a golden JSON-lines file
quarantined = 4                         # optional pins of the expected counts
late = 0
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, before it joined the standard library
    import tomli as tomllib

from velib_replay import config
from velib_replay.errors import UserError


@dataclass(frozen=True)
class Step:
    kind: str
    params: dict[str, Any]


@dataclass
class Scenario:
    name: str
    path: Path
    recording: Path
    partitions: int = 1
    job: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    golden: Path | None = None  # None: the reference computation, faults included
    quarantined: int | None = None
    late: int | None = None


JOB_OPTIONS = {"watermark", "max_offsets_per_trigger"}
TOP_LEVEL = {"recording", "partitions", "job", "steps", "expect", "name"}
EXPECT = {"indicators", "quarantined", "late"}


def load(path: Path, step_kinds: frozenset[str]) -> Scenario:
    """The scenario in ``path``; a UserError naming the file and the mistake otherwise."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return _scenario(path, document, step_kinds)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not TOML ({error})") from None
    except (ValueError, TypeError, KeyError) as error:
        raise UserError(f"{path}: {error}") from None


def _scenario(path: Path, document: dict, step_kinds: frozenset[str]) -> Scenario:
    _known(document, TOP_LEVEL, "top-level key")
    _known(document.get("job", {}), JOB_OPTIONS, "[job] option")
    expect = document.get("expect", {})
    _known(expect, EXPECT, "[expect] key")
    steps = [_step(raw, step_kinds) for raw in document.get("steps", [])]
    if not steps:
        raise ValueError("no [[steps]]")
    indicators = expect.get("indicators", "reference")
    return Scenario(
        name=document.get("name", path.stem),
        path=path,
        recording=_resolve(document["recording"]),
        partitions=int(document.get("partitions", 1)),
        job=document.get("job", {}),
        steps=steps,
        golden=None if indicators == "reference" else _resolve(indicators),
        quarantined=expect.get("quarantined"),
        late=expect.get("late"),
    )


def _step(raw: dict, step_kinds: frozenset[str]) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"each [[steps]] entry is one step, e.g. play = {{...}}; got {raw!r}")
    ((kind, params),) = raw.items()
    if kind not in step_kinds:
        raise ValueError(f"unknown step {kind!r}; steps are {', '.join(sorted(step_kinds))}")
    return Step(kind, dict(params))


def _known(table: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}; known: {', '.join(sorted(allowed))}")


def _resolve(text: str) -> Path:
    """Relative paths are the project folder's (where recordings/ lives), like every default path."""
    path = Path(text)
    return path if path.is_absolute() else config.project_root() / path


def scenario_files(paths: list[Path]) -> list[Path]:
    """The .toml files named, and those in the folders named, sorted; a UserError if there are none."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.toml")) if path.is_dir() else [path]
    if not files:
        raise UserError(f"no scenario (*.toml) in {', '.join(map(str, paths))}")
    return files
