"""SIGINT and SIGTERM, handled one way by every long-running command (play, process, record, live, serve,
scenario): a stop request, never a traceback, and the previous handlers back afterwards."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
