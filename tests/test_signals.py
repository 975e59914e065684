"""One handling of SIGINT and SIGTERM for every long-running command."""

import os
import signal
import threading

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
