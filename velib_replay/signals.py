"""Stopping on SIGINT and SIGTERM: one ``StopRequest`` for every long-running command (play, process, record,
live, serve, dashboard, scenario), never a traceback, and the previous handlers back afterwards.

The request keeps the signal's name and number, so every verb exits by the same rule once it has finished
cleanly (``exit_status``: 128 + the number, 130 for SIGINT, 143 for SIGTERM). A request may also come from
the program itself (a full disk: ``fail``), which has no number and no signal's exit status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised by a signal inside an interruptible section; BaseException so no library swallows it."""


@contextlib.contextmanager
def handled(on_signal: Callable[[int], None]) -> Iterator[None]:
    """Call ``on_signal(signum)`` on SIGINT or SIGTERM while inside.

    Only the main thread can install handlers, so elsewhere (a command called from a thread) this does
    nothing; a signal its parent set to be ignored (a job started with ``&`` by a script) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signum for signum in STOP_SIGNALS if signal.getsignal(signum) is not signal.SIG_IGN]
    previous = {signum: signal.signal(signum, lambda signum, _frame: on_signal(signum)) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_status(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number (130, 143)."""
    return 128 + signum


class StopRequest:
    """A request to stop, set from a signal handler (nothing there may block) or by the program.

    Loops poll it (``bool``, ``wait``, ``sleep``) and stop at a safe boundary; a section that may be
    abandoned at once (a fetch, a wait on a server) runs inside ``interruptible``. With ``second_kills``,
    a second signal ends the process at once, as the signal's default would.
    """

    def __init__(self, *, second_kills: bool = False, tick_s: float = 0.1):
        self.event = threading.Event()
        self.reason: str | None = None
        self.signum: int | None = None  # the signal that asked, if one did
        self.failure: str | None = None  # a stop forced by an error (the disk is full…)
        self.abandoned = False  # an interruptible section was in progress when the signal came
        self.second_kills, self.tick_s = second_kills, tick_s
        self._interruptible = False

    def __bool__(self) -> bool:
        return self.event.is_set()

    def set(self, reason: str = "stopped") -> None:
        self.reason = self.reason or reason
        self.event.set()

    def fail(self, reason: str) -> None:
        self.failure = self.failure or reason
        self.set(reason)

    def received(self, signum: int) -> None:
        """The signal handler: asks to stop, naming the signal; abandons an interruptible section."""
        if self and self.second_kills:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        if self.signum is None:
            self.signum = signum
        self.set(signal.Signals(signum).name)
        if self._interruptible:
            raise Interrupted

    @property
    def exit_status(self) -> int | None:
        """128 + the signal's number when a signal asked to stop, else None: the one rule of every verb."""
        return exit_status(self.signum) if self.signum is not None else None

    def wait(self, timeout: float) -> bool:
        """Block until a stop is requested or ``timeout`` s have passed; True when stopping."""
        return self.event.wait(timeout) if timeout > 0 else self.event.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, waking within a tick once a stop is requested (short waits keep signals prompt)."""
        deadline = time.monotonic() + seconds
        while not self and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(self.tick_s, left))

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A section a signal may abandon (raising ``Interrupted``): nothing in it may write to disk."""
        if self:
            raise Interrupted
        self._interruptible = True
        try:
            yield
        except Interrupted:
            self.abandoned = True
            raise
        finally:
            self._interruptible = False

    @contextlib.contextmanager
    def handled(self) -> Iterator[StopRequest]:
        """SIGINT and SIGTERM set this request while inside (see ``handled``)."""
        with handled(self.received):
            yield self
