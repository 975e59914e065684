"""The fault log (``--fault-log``): one JSON line per fault applied, after a header saying how to redo them.

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
from velib_replay.replay.faults import Fault, Ledger, parse_fault
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.units import parse_offset

HEADER = "replay"
CONTROL = "control"


@contextlib.contextmanager
def open_ledger(path: Path | None, plan: ReplayPlan, faults: Sequence[Fault], seed: int) -> Iterator[Ledger | None]:
    """A function writing one ledger line per call to ``path`` (after the header); None without a path."""
    if path is None:
        yield None
        return
    with path.open("w", encoding="utf-8") as out:
        out.write(_line(header(plan, faults, seed)))

        def write(entry: dict) -> None:
            out.write(_line(entry))

        yield write


def header(plan: ReplayPlan, faults: Sequence[Fault], seed: int) -> dict:
    """What regenerating the replay's stream needs: the seed, the faults and ``plan``'s selection."""
    return {
        "fault": HEADER,
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
        return FaultLog(int(head["seed"]), faults, selection, entries, sent)
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
