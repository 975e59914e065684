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
import math
import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from velib_replay.errors import UserError
from velib_replay.units import parse_duration

log = logging.getLogger(__name__)

KINDS = ("error", "timeout", "truncate", "stale", "slow", "reset")  # the order decisions are drawn in
SYNTAX = "error=P, timeout=P, truncate=P, stale=P, slow=P:DURATION or reset=P"


@dataclass(frozen=True)
class HttpFault:
    kind: str
    probability: float
    delay_s: float = 0.0  # slow only

    def __str__(self) -> str:
        return f"{self.kind}={self.probability:g}" + (f":{self.delay_s:g}s" if self.kind == "slow" else "")


def parse_http_fault(text: str) -> HttpFault:
    """``slow=0.1:200ms`` → HttpFault('slow', 0.1, 0.2); ValueError with the syntax when it is not one."""
    kind, _, params = text.strip().partition("=")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"fault {text!r}: unknown kind {kind!r}; use {SYNTAX}")
    probability_text, _, delay_text = params.partition(":")
    if (kind == "slow") != bool(delay_text):
        usage = "slow=P:DURATION, e.g. slow=0.1:200ms" if kind == "slow" else f"{kind}=P"
        raise ValueError(f"fault {text!r}: use {usage}")
    probability = _probability(probability_text, text)
    delay = parse_duration(delay_text) if delay_text else 0.0
    return HttpFault(kind, probability, delay)


def _probability(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"fault {spec!r}: {text!r} is not a probability from 0 to 1")
    return value


class HttpInjector:
    """Draws one fault (or none) per feed request and counts them by kind; shared by the server's threads."""

    def __init__(self, faults: Sequence[HttpFault], seed: int):
        kinds = [fault.kind for fault in faults]
        twice = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if twice:
            raise UserError(f"--inject {twice[0]} is given twice; give each kind once")
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
