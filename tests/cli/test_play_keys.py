"""``play``'s keys on a terminal: the real CLI on a pseudo-terminal, keys typed as a user would."""

from __future__ import annotations

import json
import os
import pty
import sys
import threading
import time

import pytest
from conftest import SAMPLE

from velib_replay.cli.keys import LEGEND, RIGHT, split_keys

WAIT_S = 60.0


def test_an_arrow_is_one_key():
    assert split_keys(f" {RIGHT}+q") == [" ", RIGHT, "+", "q"]


class Terminal:
    """``velib-replay ARGS`` with a pseudo-terminal as its controlling terminal; what it prints, collected."""

    def __init__(self, *args: str):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the terminal's foreground process
            os.execv(sys.executable, [sys.executable, "-m", "velib_replay", *args])
        self.output = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while chunk := os.read(self.fd, 4096):
                self.output += chunk.decode(errors="replace")
        except OSError:  # the child has gone: the pty is closed
            pass

    def shows(self, text: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while text not in self.output:
            assert time.monotonic() < deadline, f"{text!r} never shown; the terminal shows:\n{self.output}"
            time.sleep(0.05)

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def exit_status(self) -> int:
        deadline = time.monotonic() + WAIT_S
        while (waited := os.waitpid(self.pid, os.WNOHANG))[0] == 0:
            assert time.monotonic() < deadline, f"still running; the terminal shows:\n{self.output}"
            time.sleep(0.05)
        return os.waitstatus_to_exitcode(waited[1])


@pytest.mark.integration
def test_keys_pause_step_speed_up_and_stop(velib_kafka, velib_topics, tmp_path):
    stats = tmp_path / "stats.json"
    term = Terminal(
        "play",
        str(SAMPLE),
        "--speed",
        "6x",
        "--bootstrap-servers",
        velib_kafka,
        "--topic",
        velib_topics.status,
        "--stats-json",
        str(stats),
    )
    term.shows(LEGEND)
    term.shows("Replaying")
    term.type(" ")  # pause
    time.sleep(1.0)
    term.type(RIGHT)  # one snapshot
    time.sleep(1.0)
    term.type("+")  # 12x
    term.type("q")  # as Ctrl-C
    assert term.exit_status() == 130, term.output
    summary = json.loads(stats.read_text())
    assert summary["interrupted"] == "SIGINT"
    actions = [(a["action"], a.get("snapshots") or a.get("speed")) for a in summary["control_actions"]]
    assert actions == [("pause", None), ("step", 1), ("speed", "12x")]
    assert summary["paused_s"] >= 1.5
    assert "Interrupted by SIGINT" in term.output
