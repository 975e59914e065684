"""The broker's pid file is checked before it is trusted: a reused pid is never signalled.

Real processes stand in for the pid's new owner (``sleep``) and for a broker (a Python process whose
command line reads like one), so no JVM is needed; ``test_broker.py`` starts a real broker over a stale pid file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.kafka import broker


def _spawn(*args: str, own_session: bool = True, cwd: Path | None = None) -> subprocess.Popen:
    """A real process, returned once its command line is readable (it reads empty while exec is under way)."""
    process = subprocess.Popen(list(args), start_new_session=own_session, stdin=subprocess.DEVNULL, cwd=cwd)
    while process.poll() is None and not broker.command_line(process.pid):
        time.sleep(0.01)
    return process


@pytest.fixture
def unrelated() -> Iterator[subprocess.Popen]:
    """A real process that is not a broker: the pid a stale pid file would name once reused."""
    process = _spawn("sleep", "60")
    yield process
    process.kill()
    process.wait()


def _lookalike(properties: Path, own_session: bool = True, cwd: Path | None = None) -> subprocess.Popen:
    """A process whose command line is a broker's: ``... kafka.Kafka <properties>``."""
    args = (sys.executable, "-c", "import time; time.sleep(60)", broker.BROKER_MAIN_CLASS, str(properties))
    return _spawn(*args, own_session=own_session, cwd=cwd)


def _stale(tmp_path: Path, pid: int) -> broker.Broker:
    instance = broker.Broker(tmp_path / "kafka", broker.free_port())
    instance.data_dir.mkdir()
    instance.pid_file.write_text(f"{pid} {instance.port}\n")
    return instance


def kafka_cli(*args: str):
    return CliRunner().invoke(main, ["kafka", *args])


def test_stop_leaves_an_unrelated_process_alive(tmp_path, unrelated):
    instance = _stale(tmp_path, unrelated.pid)
    result = kafka_cli("stop", "--data-dir", str(instance.data_dir))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"stale pid file {instance.pid_file}: pid {unrelated.pid} is not this folder's broker; removed",
        "Kafka was not running",
    ]
    assert unrelated.poll() is None  # still alive: never signalled
    assert not instance.pid_file.exists()


def test_status_says_not_running_on_a_stale_pid_file(tmp_path, unrelated):
    instance = _stale(tmp_path, unrelated.pid)
    assert instance.running_pid() is None and instance.running_port() is None
    result = kafka_cli("status", "--data-dir", str(instance.data_dir))
    assert result.exit_code == 1
    assert f"pid {unrelated.pid} is not this folder's broker; removed" in result.output
    assert "Kafka is not running" in result.output
    assert unrelated.poll() is None


def test_a_broker_of_another_folder_is_not_this_folders(tmp_path):
    other = _lookalike(tmp_path / "other" / "server.properties")
    try:
        instance = _stale(tmp_path, other.pid)
        assert not broker.stop(instance)
        assert other.poll() is None
        assert not instance.pid_file.exists()
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("own_session", [True, False], ids=["leads-its-group", "in-this-group"])
def test_this_folders_broker_is_recognised_and_stopped(tmp_path, own_session):
    instance = broker.Broker(tmp_path / "kafka")
    instance.data_dir.mkdir()
    lookalike = _lookalike(instance.properties_file, own_session)
    try:
        instance.pid_file.write_text(f"{lookalike.pid} 9999\n")
        assert instance.discard_stale_pid_file() is None
        assert instance.running_pid() == lookalike.pid and instance.running_port() == 9999
        assert broker.stop(instance, timeout=10)
        assert broker.command_line(lookalike.pid) is None  # terminated, and reaped by stop
        assert not instance.pid_file.exists()
    finally:
        lookalike.kill()
        lookalike.wait()


def test_a_broker_deaf_to_sigterm_is_killed(tmp_path):
    instance = broker.Broker(tmp_path / "kafka")
    instance.data_dir.mkdir()
    deaf = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('deaf', flush=True); time.sleep(60)"
    )
    args = [sys.executable, "-c", deaf, broker.BROKER_MAIN_CLASS, str(instance.properties_file)]
    process = subprocess.Popen(args, start_new_session=True, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "deaf\n"  # SIGTERM is ignored from here on
        instance.pid_file.write_text(f"{process.pid} 9999\n")
        assert broker.stop(instance, timeout=0.5)  # only SIGKILL can end it: stop raises if it survives
        assert broker.command_line(process.pid) is None
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_relative_data_dir_names_the_same_broker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kafka").mkdir()
    lookalike = _lookalike(tmp_path / "kafka" / "server.properties")
    try:
        relative = broker.Broker(Path("kafka"))
        relative.pid_file.write_text(f"{lookalike.pid} 9999\n")
        assert relative.running_pid() == lookalike.pid
    finally:
        lookalike.kill()
        lookalike.wait()


def test_a_broker_given_a_relative_path_by_an_earlier_version_is_recognised(tmp_path):
    (tmp_path / "kafka").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    lookalike = _lookalike(Path("../kafka/server.properties"), cwd=elsewhere)
    try:
        instance = broker.Broker(tmp_path / "kafka")
        instance.pid_file.write_text(f"{lookalike.pid} 9999\n")
        assert instance.running_pid() == lookalike.pid
        other = broker.Broker(elsewhere / "kafka")
        other.data_dir.mkdir()
        other.pid_file.write_text(f"{lookalike.pid} 9999\n")
        assert other.running_pid() is None  # relative to the broker's cwd, it names one folder only
    finally:
        lookalike.kill()
        lookalike.wait()


@pytest.mark.parametrize("content", ["", "not-a-pid 9092", "0 9092", "-1 9092", "\xff"])
def test_an_unreadable_or_impossible_pid_file_is_removed(tmp_path, content):
    instance = _stale(tmp_path, 1)
    instance.pid_file.write_text(content, encoding="latin-1")
    notice = instance.discard_stale_pid_file()
    assert notice is not None and str(instance.pid_file) in notice and notice.endswith("removed")
    assert instance.running_pid() is None and not instance.pid_file.exists()


def test_a_dead_pid_is_stale(tmp_path):
    finished = _spawn("true")
    finished.wait()
    instance = _stale(tmp_path, finished.pid)
    assert broker.command_line(finished.pid) is None
    assert "is not this folder's broker; removed" in instance.discard_stale_pid_file()


def test_ps_answers_where_proc_is_missing(tmp_path, monkeypatch, unrelated):
    from_proc = broker.command_line(unrelated.pid)
    monkeypatch.setattr(broker, "PROC", tmp_path / "no-proc")
    assert from_proc == broker.command_line(unrelated.pid) == "sleep 60"
    finished = _spawn("true")
    finished.wait()
    assert broker.command_line(finished.pid) is None


def test_stop_and_status_with_a_data_dir_under_a_regular_file(tmp_path):
    regular = tmp_path / "file"
    regular.write_text("")
    for verb, code, said in (("stop", 0, "Kafka was not running"), ("status", 1, "Kafka is not running")):
        result = kafka_cli(verb, "--data-dir", str(regular / "kafka"))
        assert result.exit_code == code, result.output
        assert said in result.output and "Traceback" not in result.output
