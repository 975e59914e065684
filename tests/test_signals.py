"""One handling of SIGINT and SIGTERM for every long-running command."""

import os
import signal
import subprocess
import sys
import threading

import pytest

from velib_replay import signals


def test_a_signal_inside_calls_back_and_the_previous_handlers_come_back():
    before = {signum: signal.getsignal(signum) for signum in signals.STOP_SIGNALS}
    received = []
    with signals.handled(received.append):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert received == [signal.SIGTERM, signal.SIGINT]
    assert {signum: signal.getsignal(signum) for signum in signals.STOP_SIGNALS} == before


def test_a_signal_the_parent_ignores_stays_ignored():
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        received = []
        with signals.handled(received.append):
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGTERM)
        assert received == []
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_nothing_is_installed():
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    def command() -> None:
        with signals.handled(print):
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=command)
    thread.start()
    thread.join()
    assert seen == [before]


def test_exit_status_follows_the_shell():
    assert signals.exit_status(signal.SIGINT) == 130 and signals.exit_status(signal.SIGTERM) == 143


def test_a_stop_request_keeps_the_first_signal_and_exits_by_it():
    stop = signals.StopRequest()
    assert not stop and stop.exit_status is None
    with stop.handled():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert stop and stop.reason == "SIGTERM" and stop.signum == signal.SIGTERM and stop.exit_status == 143


def test_a_stop_the_program_asks_for_has_no_signal_exit_status():
    stop = signals.StopRequest()
    stop.fail("the disk is full")
    assert stop and stop.failure == stop.reason == "the disk is full" and stop.exit_status is None


def test_a_signal_abandons_an_interruptible_section_only():
    stop = signals.StopRequest()
    with pytest.raises(signals.Interrupted), stop.handled(), stop.interruptible():
        os.kill(os.getpid(), signal.SIGINT)
    assert stop.abandoned and stop.exit_status == 130


SECOND_KILLS = """
import os, signal, sys
from velib_replay.signals import StopRequest
stop = StopRequest(second_kills={second_kills})
with stop.handled():
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGTERM)
sys.exit(stop.exit_status)
"""


@pytest.mark.parametrize(("second_kills", "returncode"), [(True, -signal.SIGTERM), (False, 143)])
def test_a_second_signal_kills_only_when_asked(second_kills, returncode):
    code = SECOND_KILLS.format(second_kills=second_kills)
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == returncode
