"""A scenario file: a small TOML test case of the whole pipeline under faults, checked whole when it is loaded:
keys, paths, the job's options, every step's parameters and fault specs, before any broker or Spark starts.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, before it joined the standard library
    import tomli as tomllib

from velib_replay import config
from velib_replay.errors import UserError
from velib_replay.recording import Recording
from velib_replay.units import parse_spark_interval


@dataclass(frozen=True)
class Step:
    kind: str
    args: Any  # what the step kind's check made of its parameters


StepChecks = Mapping[str, Callable[[dict[str, Any]], Any]]  # step kind → its check (``scenario.steps.STEPS``)


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


def load(path: Path, step_kinds: StepChecks) -> Scenario:
    """The scenario in ``path``; a UserError naming the file and the mistake otherwise."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return _scenario(path, document, step_kinds)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not TOML ({error})") from None
    except (ValueError, TypeError, KeyError, UserError) as error:
        raise UserError(f"{path}: {error}") from None


def _scenario(path: Path, document: dict, step_kinds: StepChecks) -> Scenario:
    known_keys(document, TOP_LEVEL, "top-level key")
    known_keys(document.get("job", {}), JOB_OPTIONS, "[job] option")
    expect = document.get("expect", {})
    known_keys(expect, EXPECT, "[expect] key")
    raw_steps = document.get("steps", [])
    steps = [_step(number, raw, step_kinds) for number, raw in enumerate(raw_steps, start=1)]
    if not steps:
        raise ValueError("no [[steps]]")
    if "recording" not in document:
        raise ValueError('no recording = "..."')
    recording = _resolve(document["recording"])
    Recording(recording)  # a RecordingError (a UserError) names what is wrong with it
    indicators = expect.get("indicators", "reference")
    golden = None if indicators == "reference" else _resolve(indicators)
    if golden is not None and not golden.is_file():
        raise ValueError(f"[expect] indicators: no golden file {golden}")
    return Scenario(
        name=document.get("name", path.stem),
        path=path,
        recording=recording,
        partitions=whole_number(document, "partitions", 1, least=1),
        job=_job(document.get("job", {})),
        steps=steps,
        golden=golden,
        quarantined=whole_number(expect, "quarantined", None),
        late=whole_number(expect, "late", None),
    )


def _job(job: dict[str, Any]) -> dict[str, Any]:
    """The [job] options, checked as ``process`` checks them."""
    if "watermark" in job:
        if not isinstance(job["watermark"], str):
            raise ValueError(f"[job] watermark = {job['watermark']!r}: a Spark interval such as '2 hours' is wanted")
        parse_spark_interval(job["watermark"])
    whole_number(job, "max_offsets_per_trigger", None, least=1)
    return job


def whole_number(table: dict[str, Any], name: str, default: int | None, least: int = 0) -> int | None:
    """``table[name]`` (else ``default``): a TOML integer from ``least``; ValueError naming it otherwise."""
    value = table.get(name, default)
    if value is not None and (type(value) is not int or value < least):
        raise ValueError(f"{name} = {value!r}: a whole number from {least} is wanted")
    return value


def _step(number: int, raw: dict, step_kinds: StepChecks) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"each [[steps]] entry is one step, e.g. play = {{...}}; got {raw!r}")
    ((kind, params),) = raw.items()
    if kind not in step_kinds:
        raise ValueError(f"step {number}: unknown step {kind!r}; steps are {', '.join(sorted(step_kinds))}")
    if not isinstance(params, dict):
        raise ValueError(f"step {number} ({kind}): its parameters are a table, e.g. {kind} = {{}}")
    try:
        return Step(kind, step_kinds[kind](dict(params)))
    except UserError as error:
        raise ValueError(f"step {number} ({kind}): {error}") from None
    except (ValueError, TypeError) as error:
        raise ValueError(f"step {number} ({kind}): {error}") from None


def known_keys(table: dict, allowed: set[str], what: str) -> None:
    """A ValueError naming the first key of ``table`` not in ``allowed`` (a typo), and the keys that are."""
    if unknown := sorted(set(table) - allowed):
        raise ValueError(f"unknown {what} {unknown[0]!r}; known: {', '.join(sorted(allowed)) or 'none'}")


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
