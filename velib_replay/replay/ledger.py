"""The fault log (``--fault-log``): one JSON line per fault applied, after a header saying how to redo them
and where the run started on its topic.

The header (``{"fault": "replay", ...}``) holds the seed, the ``--inject`` specs and the plan's selection,
so ``verify.expected`` can regenerate the exact stream the replay sent (the injector is deterministic)
and check it against the lines that follow. Each fault line has at least ``fault`` (the kind),
``stationCode`` and ``snapshot_time`` (the message's own, as it would have been sent), plus what its
effect needs: ``how`` (corrupt), ``sent_time`` (skew), ``released_at`` (late), ``messages`` (reorder),
``seconds`` (stall). A replay driven by ``play --control`` ends its log with one ``{"fault": "control",
"sent": [[from, to], ...]}`` line: the timeline positions it sent, in order (runs, ``to`` excluded), since
pauses, steps and seeks decide which snapshots go out, and the stream is regenerated from those.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from velib_replay.errors import UserError
from velib_replay.recording import MANIFEST
from velib_replay.replay.faults import Fault, Ledger, parse_fault
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.units import parse_offset

HEADER = "replay"
CONTROL = "control"


class FaultLogError(UserError):
    """The fault log could not be written (a full disk): the replay stops, and the log is said to be incomplete."""


def check_fault_log_path(path: Path) -> None:
    """A UserError, before anything is sent, for a path ``--fault-log`` must not overwrite: one inside a
    recording (its manifest, a body), or an existing file that is not a fault log."""
    for folder in Path(path).resolve().parents:
        if (folder / MANIFEST).is_file():
            raise UserError(f"--fault-log {path} is inside the recording {folder}: choose a path outside it")
    if path.exists() and not _is_fault_log(path):
        raise UserError(f"--fault-log {path} exists and is not a fault log: choose another path, or remove it first")


def _is_fault_log(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as existing:
            head = json.loads(existing.readline())
    except (OSError, ValueError):
        return False
    return isinstance(head, dict) and head.get("fault") == HEADER


@contextlib.contextmanager
def open_ledger(
    path: Path | None,
    plan: ReplayPlan,
    faults: Sequence[Fault],
    seed: int,
    origin: tuple[str, dict[int, int]] | None = None,
) -> Iterator[Ledger | None]:
    """A function writing one ledger line per call to ``path`` (after the header); None without a path.

    Lines are written through (line buffering), so a full disk raises FaultLogError at the line that did not
    fit, where the replay can stop and say so, never later at close, after its summary claimed the log whole.
    """
    if path is None:
        yield None
        return
    check_fault_log_path(path)
    failed = False

    def write(entry: dict) -> None:
        nonlocal failed
        try:
            out.write(_line(entry))
        except OSError as error:
            failed = True
            raise FaultLogError(
                f"cannot write the fault log {path} ({error.strerror or error}): it is incomplete"
            ) from None

    out = path.open("w", encoding="utf-8", buffering=1)
    try:
        write(header(plan, faults, seed, origin))
        yield write
    finally:
        try:
            out.close()
        except OSError:
            if not failed:  # already said; otherwise the last lines were lost at close
                raise FaultLogError(f"cannot write the fault log {path}: it is incomplete") from None


def header(plan: ReplayPlan, faults: Sequence[Fault], seed: int, origin: tuple[str, dict[int, int]] | None) -> dict:
    """What regenerating the replay's stream needs: the seed, the faults and ``plan``'s selection; and where the
    run started (``origin``: the topic and its end offsets before the first message), so a verdict is of this run."""
    topic, start = origin or (None, None)
    return {
        "fault": HEADER,
        "topic": topic,
        "start_offsets": {str(partition): offset for partition, offset in start.items()} if start is not None else None,
        "seed": seed,
        "inject": [fault.spec for fault in faults],
        "stations": sorted(plan.wanted) if plan.wanted is not None else None,
        "passes": plan.passes,
        "limit": plan.limit,
        "start": _offset_text(plan.start),
        "end": _offset_text(plan.end),
        "rebase_to": plan.rebase_to.isoformat() if plan.rebase_to else None,
        "skip_repeated": plan.skip_repeated,
    }


@dataclass
class FaultLog:
    """A fault log read back: its header's settings and its fault lines."""

    seed: int
    faults: list[Fault]
    selection: dict  # stations, passes, limit, start, end, rebase_to, skip_repeated as ``ReplayPlan`` takes them
    entries: list[dict]
    sent: list[int] | None = None  # under --control: the timeline positions sent, in order
    topic: str | None = None  # where the run sent its messages
    start_offsets: dict[int, int] | None = None  # that topic's end offsets when the run started; None: not logged


def read_ledger(path: Path) -> FaultLog:
    """The fault log at ``path``; a UserError naming the line when it is not one ``--fault-log`` wrote."""
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        records = [json.loads(line) for line in lines if line.strip()]
        head = records[0]
        if not isinstance(head, dict) or head.get("fault") != HEADER:
            raise ValueError(f"the first line is not the header ({{'fault': {HEADER!r}, ...}})")
        selection = {
            "wanted": frozenset(head["stations"]) if head["stations"] is not None else None,
            "passes": head["passes"],
            "limit": head["limit"],
            "start": parse_offset(head["start"]) if head["start"] else None,
            "end": parse_offset(head["end"]) if head["end"] else None,
            "rebase_to": datetime.fromisoformat(head["rebase_to"]) if head["rebase_to"] else None,
            "skip_repeated": bool(head.get("skip_repeated", False)),  # absent from logs written before it
        }
        entries = [record for record in records[1:] if record.get("fault") != CONTROL]
        controls = [record for record in records[1:] if record.get("fault") == CONTROL]
        sent = positions(controls[-1]["sent"]) if controls else None
        faults = [parse_fault(spec) for spec in head["inject"]]
        start = head.get("start_offsets")
        offsets = {int(partition): int(offset) for partition, offset in start.items()} if start is not None else None
        return FaultLog(int(head["seed"]), faults, selection, entries, sent, head.get("topic"), offsets)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise UserError(f"{path}: not a fault log written by play --fault-log ({error})") from None


def sent_line(runs: Sequence[Sequence[int]]) -> dict:
    """The control line: the positions sent, as runs ``[from, to)`` of consecutive ones (``Control.sent_runs``)."""
    return {"fault": CONTROL, "sent": [list(run) for run in runs]}


def positions(runs: Sequence[Sequence[int]]) -> list[int]:
    """The positions the runs of a control line stand for, in order."""
    return [position for start, end in runs for position in range(int(start), int(end))]


def _offset_text(offset: timedelta | datetime | None) -> str | None:
    if offset is None:
        return None
    return f"{offset.total_seconds()}s" if isinstance(offset, timedelta) else offset.isoformat()


def _line(entry: dict) -> str:
    return json.dumps(entry, ensure_ascii=False) + "\n"
