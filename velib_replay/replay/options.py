"""What a replay sends and how, as one value: ``PlayOptions``, whatever ``play`` takes that shapes what is sent.

Each entry point builds it once through the same parsers (``play``'s options, the plugin's ``velib_play``
arguments, a scenario's play step) and passes it whole to ``replay_to_topic``. It is checked here, so a
combination that cannot be honoured is refused alike by all, before anything is sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from velib_replay.config import DELIVERY_WAIT_S
from velib_replay.errors import UserError
from velib_replay.kafka.publisher import AUTO, CLIENTS, TIMESTAMPS
from velib_replay.recording import Snapshot
from velib_replay.replay.faults import REPEATABLE, Fault
from velib_replay.replay.ledger import check_fault_log_path
from velib_replay.replay.pacing import ReplayPlan, Timeline
from velib_replay.units import check_fault_set, format_duration


class OptionError(ValueError):
    """A value no replay could honour; ``option`` names it as ``play`` spells it, for the CLI's usage error."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class PlayOptions:
    """``play``'s options as values; the defaults are the library's (each entry point keeps its own speed)."""

    plan: ReplayPlan = field(default_factory=ReplayPlan)  # which snapshots, stamped how, how fast
    faults: tuple[Fault, ...] = ()  # injected with ``seed``; each one applied is logged to ``fault_log``
    seed: int = 0
    fault_log: Path | None = None
    skip_invalid: bool = False  # skip snapshots whose body cannot be read, counted, instead of stopping there
    timestamps: str = "feed"  # records stamped with the feed time, or "send": when sent
    client: str = AUTO  # the Kafka client library
    partitions: int = 1  # of the topic, if the replay creates it
    delivery_timeout_s: float = DELIVERY_WAIT_S  # how long to wait for an unreachable broker

    def __post_init__(self) -> None:
        """What needs no recording, checked on construction (the whole fault set included): an OptionError."""
        object.__setattr__(self, "faults", tuple(self.faults))
        speed = self.plan.speed
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise OptionError("speed", f"speed {speed!r} must be a finite multiplier above 0, or None (max)")
        try:
            check_fault_set((fault.kind for fault in self.faults), REPEATABLE)
        except ValueError as error:
            raise OptionError("inject", str(error)) from None
        if self.timestamps not in TIMESTAMPS:
            raise OptionError(
                "timestamps", f"unknown timestamps {self.timestamps!r} (choose {' or '.join(TIMESTAMPS)})"
            )
        if self.client not in (AUTO, *CLIENTS):
            choices = ", ".join((AUTO, *CLIENTS))
            raise OptionError("client", f"unknown Kafka client {self.client!r} (choose {choices})")
        if self.partitions < 1:
            raise OptionError("partitions", f"partitions {self.partitions} must be 1 or more")

    def refuse_unhonourable(self, snapshots: Sequence[Snapshot]) -> None:
        """A UserError, before anything is sent (``--dry-run`` too), for what the replay of ``snapshots`` (the
        plan's selection) could not honour: a fault log it may not write, or a stall it never reaches (its feed
        offset past the last slot's: the run would end without it and say nothing)."""
        if self.fault_log is not None:
            check_fault_log_path(self.fault_log)
        timeline = Timeline(snapshots, self.plan.passes, self.plan.limit)
        if not timeline.size:  # endless: every stall is reached
            return
        reach = timeline.slot(timeline.size - 1).snapshot_time - timeline.slot(0).snapshot_time
        for fault in self.faults:
            if fault.kind == "stall" and fault.at_s > reach:
                raise UserError(
                    f"--inject {fault.spec}: the replay's last snapshot is {format_duration(reach)} of feed time "
                    "after its first, so this stall would never happen; nothing was sent"
                )
