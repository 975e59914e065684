"""The faults ``serve --inject`` puts on the wire, so a consumer of the API meets a bad day on demand.

``KIND=PARAMS`` as ``play --inject`` spells them: ``error=P`` (a 503), ``timeout=P`` (no
answer until the client hangs up), ``truncate=P`` (half the announced body, then the
connection closes), ``stale=P`` (the body last served again), ``slow=P:D`` (the right
body, D late) and ``reset=P`` (a TCP reset). P is a probability in [0, 1]; the Ps add up
to at most 1. Each feed request gets one decision, drawn from ``random.Random(seed)`` in
request order, so a seed and a polling client give the same faults on every run.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from velib_replay.errors import UserError
from velib_replay.units import check_fault_set, fault_head, parse_duration, parse_probability

log = logging.getLogger(__name__)

SYNTAX = {  # in the order decisions are drawn in
    "error": "error=P",
    "timeout": "timeout=P",
    "truncate": "truncate=P",
    "stale": "stale=P",
    "slow": "slow=P:DURATION",
    "reset": "reset=P",
}
KINDS = tuple(SYNTAX)


@dataclass(frozen=True)
class HttpFault:
    kind: str
    probability: float
    delay_s: float = 0.0  # slow only

    def __str__(self) -> str:
        return f"{self.kind}={self.probability:g}" + (f":{self.delay_s:g}s" if self.kind == "slow" else "")


def parse_http_fault(text: str) -> HttpFault:
    """``slow=0.1:200ms`` → HttpFault('slow', 0.1, 0.2); ValueError with the syntax when it is not one."""
    kind, parts = fault_head(text, SYNTAX)
    try:
        return HttpFault(kind, parse_probability(parts[0]), parse_duration(parts[1]) if kind == "slow" else 0.0)
    except ValueError as error:
        raise ValueError(f"fault {text!r}: {error} (use {SYNTAX[kind]})") from None


class HttpInjector:
    """Draws one fault (or none) per feed request and counts them by kind; shared by the server's threads."""

    def __init__(self, faults: Sequence[HttpFault], seed: int):
        try:
            check_fault_set(fault.kind for fault in faults)
        except ValueError as error:
            raise UserError(f"--inject {error}") from None
        if sum(fault.probability for fault in faults) > 1 + 1e-9:
            raise UserError(f"the --inject probabilities add up to more than 1: {' '.join(map(str, faults))}")
        self.faults = sorted(faults, key=lambda fault: KINDS.index(fault.kind))
        self.seed = seed
        self.requests = 0
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def decide(self, feed: str) -> HttpFault | None:
        """The fault for the next request to ``feed``: one draw per request, in request order."""
        with self._lock:
            self.requests += 1
            draw = self._random.random()
            fault = _pick(self.faults, draw)
            if fault is not None:
                self.counts[fault.kind] += 1
                log.info("request %d (%s): injected %s", self.requests, feed, fault)
        return fault

    def summary(self) -> str:
        counts = ", ".join(f"{kind} {self.counts[kind]}" for kind in KINDS if kind in self.counts) or "none"
        return f"faults injected (seed {self.seed}) in {self.requests} feed requests: {counts}"


def _pick(faults: Sequence[HttpFault], draw: float) -> HttpFault | None:
    """The fault whose slice of [0, 1) holds ``draw``; None past the last slice."""
    edge = 0.0
    for fault in faults:
        edge += fault.probability
        if draw < edge:
            return fault
    return None
