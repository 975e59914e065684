"""Keys on a terminal driving a replay: space pauses and resumes, → steps one snapshot, + and - double and halve
the speed, q stops as Ctrl-C does (through the same signal, so the same clean stop and exit status)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import threading
import tty
from collections.abc import Iterator

from velib_replay.replay.control import Control

LEGEND = "keys: space pause/resume   → step   + faster   - slower   q stop"
RIGHT = "\x1b[C"


def press(control: Control, key: str) -> None:
    """What one key does to the replay; other keys do nothing."""
    if key == " ":
        control.resume() if control.status()["paused"] else control.pause()
    elif key == RIGHT:
        control.step(1)
    elif key in "+=-" and (speed := control.speed) is not None:  # at max speed there is nothing to double or halve
        control.set_speed(speed * 2 if key in "+=" else speed / 2)
    elif key in "qQ":
        os.kill(os.getpid(), signal.SIGINT)


def split_keys(chunk: str) -> list[str]:
    """The keys in what one read gave: the arrow's escape sequence is one key."""
    keys: list[str] = []
    while chunk:
        size = len(RIGHT) if chunk.startswith(RIGHT) else 1
        keys.append(chunk[:size])
        chunk = chunk[size:]
    return keys


def usable() -> bool:
    """Keys are read only from a terminal this process has in the foreground (a background read would stop it)."""
    try:
        fd = sys.stdin.fileno()
        return sys.stdin.isatty() and sys.stderr.isatty() and os.tcgetpgrp(fd) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def reading(control: Control) -> Iterator[None]:
    """Read keys in a thread while inside, the terminal in cbreak mode (Ctrl-C still a signal); restored after."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            if select.select([fd], [], [], 0.1)[0]:
                for key in split_keys(os.read(fd, 32).decode(errors="replace")):
                    with contextlib.suppress(ValueError):
                        press(control, key)

    tty.setcbreak(fd)
    reader = threading.Thread(target=read, name="play-keys", daemon=True)
    reader.start()
    try:
        yield
    finally:
        done.set()
        reader.join()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
