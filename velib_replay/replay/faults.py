"""Play-side faults: what real streams do to messages, injected on demand, the same way for the same seed.

    plan's slots ─▶ snapshot_messages ─▶ Injector.apply ─▶ publisher      (and every fault ─▶ the ledger)

Syntax, one ``--inject KIND=PARAMS`` each (P is a probability per message, from 0 to 1):

    duplicate=P      the message is sent again with the next snapshot
    reorder=N        messages shuffled within windows of N consecutive ones, across snapshot boundaries
    late=P:DELAY     held back until the replay's feed time is DELAY further on (e.g. late=0.01:3h)
    drop=P           never sent
    corrupt=P        replaced by one of: not JSON, truncated, no stationCode, bad snapshot_time
    skew=P:±D        snapshot_time shifted by D: +D later, -D earlier, ±D (or +-D) either way at random
    stall=AT:PAUSE   at feed offset AT from the first snapshot, the replay pauses PAUSE (wall time), then
                     catches up in a burst

Every random choice comes from one ``random.Random(seed)`` drawn in a fixed order, so the same seed,
recording and selection give the same faults byte for byte.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from velib_replay.contracts.feed import iso_utc
from velib_replay.contracts.messages import SNAPSHOT_TIME_FIELD, Message
from velib_replay.errors import UserError
from velib_replay.replay.pacing import Slot
from velib_replay.units import check_fault_set, fault_head, parse_duration, parse_probability

PER_MESSAGE = ("drop", "corrupt", "skew", "late", "duplicate")  # the order a message meets them in
MAX_SKEW_S = 366 * 86400
CORRUPTIONS = ("not-json", "truncated", "no-stationCode", "bad-snapshot_time")

SYNTAX = {
    "duplicate": "duplicate=P",
    "reorder": "reorder=N",
    "late": "late=P:DELAY",
    "drop": "drop=P",
    "corrupt": "corrupt=P",
    "skew": "skew=P:±D",
    "stall": "stall=AT:PAUSE",
}

Ledger = Callable[[dict], None]


@dataclass(frozen=True)
class Fault:
    """One ``--inject`` spec, parsed; ``spec`` is the text it came from (kept in the ledger's header)."""

    kind: str
    spec: str
    probability: float = 0.0
    window: int = 0  # reorder
    seconds: float = 0.0  # late: feed delay; skew: shift; stall: wall-clock pause
    sign: int = 1  # skew: +1, -1, or 0 for either at random
    at_s: float = 0.0  # stall: feed offset from the first snapshot


REPEATABLE = ("stall",)  # several pauses make sense; two drop rates do not


def parse_fault(spec: str) -> Fault:
    """``late=0.01:3h`` → Fault; a ValueError naming the expected syntax otherwise."""
    kind, parts = fault_head(spec, SYNTAX)
    try:
        return _parse(kind, spec.strip(), parts)
    except ValueError as error:
        raise ValueError(f"fault {spec!r}: {error} (use {SYNTAX[kind]})") from None


def _parse(kind: str, spec: str, parts: list[str]) -> Fault:
    if kind == "reorder":
        if not parts[0].isdigit() or int(parts[0]) < 2:
            raise ValueError("the window must be a whole number of messages from 2")
        return Fault(kind, spec, window=int(parts[0]))
    if kind == "stall":
        return Fault(kind, spec, at_s=parse_duration(parts[0]), seconds=_positive(parts[1]))
    probability = parse_probability(parts[0])
    if kind == "late":
        return Fault(kind, spec, probability, seconds=_positive(parts[1]))
    if kind == "skew":
        sign, text = _signed(parts[1])
        shift = _positive(text)
        if shift > MAX_SKEW_S:
            raise ValueError(f"shift {text!r}: at most 366d (a feed time must stay a real date)")
        return Fault(kind, spec, probability, seconds=round(shift), sign=sign)
    return Fault(kind, spec, probability)


def _positive(text: str) -> float:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds


def _signed(text: str) -> tuple[int, str]:
    for prefix, sign in (("±", 0), ("+-", 0), ("+", 1), ("-", -1)):
        if text.startswith(prefix):
            return sign, text.removeprefix(prefix)
    raise ValueError(f"shift {text!r} needs a sign: +D, -D or ±D")


class Injector:
    """Applies faults to each slot's messages on their way to the publisher, and logs each one applied.

    Held-back messages (late ones, duplicates' copies, a reorder window not yet full) go out with a later
    slot, or with ``drain`` at the end, so nothing the injector did not drop is lost.
    """

    def __init__(self, faults: Sequence[Fault], seed: int = 0, ledger: Ledger | None = None):
        try:
            check_fault_set((fault.kind for fault in faults), REPEATABLE)
        except ValueError as error:
            raise UserError(f"--inject {error}") from None
        self.faults = {fault.kind: fault for fault in faults if fault.kind != "stall"}
        self.stalls = sorted((fault for fault in faults if fault.kind == "stall"), key=lambda fault: fault.at_s)
        self.random = random.Random(seed)
        self.ledger = ledger or (lambda _entry: None)
        self.counts: Counter[str] = Counter()
        self._late: list[tuple[int, Message, dict]] = []  # (feed time it is due, message, its ledger entry)
        self._copies: list[Message] = []
        self._window: list[Message] = []
        self._first_time: int | None = None
        self._now = 0  # feed time of the latest slot: when a reorder window goes out

    def pause_before(self, slot: Slot) -> float:
        """Seconds to stall before sending ``slot``: every stall whose feed offset the slot reached."""
        self._first_time = slot.snapshot_time if self._first_time is None else self._first_time
        reached = [s for s in self.stalls if slot.snapshot_time - self._first_time >= s.at_s]
        for stall in reached:
            self._log("stall", None, slot.snapshot_time, seconds=stall.seconds)
        self.stalls = self.stalls[len(reached) :]
        return sum(stall.seconds for stall in reached)

    def apply(self, slot: Slot, messages: Sequence[Message]) -> list[Message]:
        """What to send with ``slot``: released late messages, last slot's copies, then this slot's, faulted."""
        self._now = slot.snapshot_time
        out = self._released(slot.snapshot_time) + self._copies
        self._copies = []
        for message in messages:
            out += self._fault(message, slot.snapshot_time)
        return self._reordered(out)

    def drain(self) -> list[Message]:
        """Everything still held, at the end of the replay (late messages are then sent late, but sent)."""
        out = self._released(None) + self._copies
        self._copies = []
        return self._reordered(out, final=True)

    def _fault(self, message: Message, snapshot_time: int) -> list[Message]:
        code = message.key.decode() if message.key is not None else None
        for kind in PER_MESSAGE:
            fault = self.faults.get(kind)
            if fault is None or self.random.random() >= fault.probability:
                continue
            if kind == "drop":
                self._log(kind, code, snapshot_time)
                return []
            if kind == "corrupt":
                how = self.random.choice(CORRUPTIONS)
                self._log(kind, code, snapshot_time, how=how)
                return [Message(message.key, corrupted(message.value, how), message.timestamp_ms)]
            if kind == "skew":
                sign = fault.sign or self.random.choice((1, -1))
                sent_time = snapshot_time + sign * int(fault.seconds)
                self._log(kind, code, snapshot_time, sent_time=iso_utc(sent_time))
                stamp = (
                    None if message.timestamp_ms is None else sent_time * 1000
                )  # feed time as Kafka time: the skewed one
                message = Message(message.key, with_time(message.value, iso_utc(sent_time)), stamp)
            elif kind == "late":
                entry = {"fault": kind, "stationCode": code, "snapshot_time": iso_utc(snapshot_time)}
                self._late.append((snapshot_time + int(fault.seconds), message, entry))
                return []
            else:
                self._log(kind, code, snapshot_time)
                self._copies.append(message)
        return [message]

    def _released(self, now: int | None) -> list[Message]:
        """Late messages due by feed time ``now`` (all of them when None), logged as they go out."""
        due = [held for held in self._late if now is None or held[0] <= now]
        self._late = [held for held in self._late if not (now is None or held[0] <= now)]
        for _due, _message, entry in due:
            self._record(entry | {"released_at": iso_utc(now) if now is not None else "end of replay"})
        return [message for _due, message, _entry in due]

    def _reordered(self, messages: list[Message], *, final: bool = False) -> list[Message]:
        fault = self.faults.get("reorder")
        if fault is None:
            return messages
        self._window += messages
        out: list[Message] = []
        while len(self._window) >= fault.window or (final and self._window):
            window, self._window = self._window[: fault.window], self._window[fault.window :]
            self.random.shuffle(window)
            first = window[0]
            code = first.key.decode() if first.key is not None else None
            self._log("reorder", code, self._now, messages=len(window))
            out += window
        return out

    def _log(self, kind: str, code: str | None, snapshot_time: int, **details) -> None:
        self._record({"fault": kind, "stationCode": code, "snapshot_time": iso_utc(snapshot_time), **details})

    def _record(self, entry: dict) -> None:
        self.counts[entry["fault"]] += 1
        self.ledger(entry)


def corrupted(value: bytes, how: str) -> bytes:
    """``value`` made unusable in one of the ways the job must set aside (each has its quarantine reason)."""
    if how == "not-json":
        return b"<html>503 Service Unavailable</html>"
    if how == "truncated":
        return value[: len(value) // 2]
    document = json.loads(value)
    if how == "no-stationCode":
        document.pop("stationCode", None)
    else:
        document[SNAPSHOT_TIME_FIELD] = "yesterday"
    return _encoded(document)


def with_time(value: bytes, snapshot_time: str) -> bytes:
    return _encoded(json.loads(value) | {SNAPSHOT_TIME_FIELD: snapshot_time})


def _encoded(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
