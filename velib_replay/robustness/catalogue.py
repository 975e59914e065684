"""The faults of the matrix: what each does to the stream (``play --inject`` specs, or a restart mid-stream),
and whether a correct job's output must not notice it (invariance) or may change (lossy).

The injected ones reuse ``replay.faults`` (its grammar, its seeded Injector, its counts); the restarts are
done by the engine between the two halves of the replay.
"""

from __future__ import annotations

from dataclasses import dataclass

from velib_replay.replay.faults import Fault, parse_fault

BROKER_RESTART = "broker-restart"
JOB_RESTART = "job-restart"
GROWS = "output grows"
REORDER_PARTITIONS = 3  # reorder also spreads the stream over partitions, read in no fixed order


@dataclass(frozen=True)
class MatrixFault:
    name: str
    invariant: bool  # True: the output must be the baseline's; False: it may lose or damage data
    what: str  # one line for the table and --help
    inject: tuple[str, ...] = ()
    partitions: int = 1
    cause: str = ""  # the likely cause named when an invariant fault changes the output
    evidence: str = ""  # how the output must have changed for ``cause`` to be named ("": any change)

    def faults(self) -> list[Fault]:
        return [parse_fault(spec) for spec in self.inject]


CATALOGUE: tuple[MatrixFault, ...] = (
    MatrixFault(
        "duplicate",
        True,
        "5% of messages sent twice",
        ("duplicate=0.05",),
        cause="the job does not deduplicate on (station, snapshot time)",
        evidence=GROWS,
    ),
    MatrixFault(
        "reorder",
        True,
        f"shuffled in windows of 50, over {REORDER_PARTITIONS} partitions",
        ("reorder=50",),
        REORDER_PARTITIONS,
        cause="the output depends on arrival order (last message read wins, not the latest snapshot time)",
    ),
    MatrixFault(
        "late",
        True,
        "5% of messages 5 min late in feed time (within a 2 h watermark)",
        ("late=0.05:5m",),
        cause="late messages are placed by arrival, not by their snapshot time",
    ),
    MatrixFault(
        "stall",
        True,
        "the replay pauses 3 s after 5 min of feed, then catches up in a burst",
        ("stall=5m:3s",),
        cause="the output depends on when messages arrive (processing time), not on their snapshot time",
    ),
    MatrixFault(
        BROKER_RESTART,
        True,
        "the broker restarted mid-replay, while the job reads the first half; it resumes on the second",
        cause="the job loses or repeats input across a broker restart",
    ),
    MatrixFault(
        JOB_RESTART,
        True,
        "the job killed mid-replay at its first micro-batch; restarted from its checkpoint on the second half",
        cause="work redone after the restart is counted again (state or output not idempotent)",
        evidence=GROWS,
    ),
    MatrixFault("drop", False, "2% of messages never sent", ("drop=0.02",)),
    MatrixFault(
        "corrupt", False, "2% of messages corrupted (not JSON, truncated, no stationCode, bad time)", ("corrupt=0.02",)
    ),
    MatrixFault(
        "late-beyond", False, "5% of messages 3 h late in feed time (beyond a 2 h watermark)", ("late=0.05:3h",)
    ),
    MatrixFault("skew", False, "2% of snapshot times shifted by 3 h either way", ("skew=0.02:±3h",)),
)
BY_NAME = {fault.name: fault for fault in CATALOGUE}


def parse_fault_names(text: str) -> tuple[str, ...]:
    """``duplicate,drop`` → the names, in the catalogue's order; ValueError naming the unknown one."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = sorted(names - set(BY_NAME))
    if unknown or not names:
        raise ValueError(f"unknown fault {unknown[0] if unknown else text!r}: use some of {', '.join(BY_NAME)}")
    return tuple(fault.name for fault in CATALOGUE if fault.name in names)
