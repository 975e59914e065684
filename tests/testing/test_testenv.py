"""``velib-replay testenv``: a real broker and a real Spark Connect server that pytest attaches to, and ``stop``
leaving nothing behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.testing import testenv

pytest_plugins = ["pytester"]

ATTACHED_TEST = """
from pyspark.sql import functions as F


def test_spark_reads_kafka_through_the_environment(velib_spark, velib_kafka, velib_topics, velib_play, tmp_path):
    velib_play({sample!r}, stations="16107")
    rows = (
        velib_spark.read.format("kafka")
        .option("kafka.bootstrap.servers", velib_kafka)
        .option("subscribe", velib_topics.status)
        .load()
        .select(F.get_json_object(F.col("value").cast("string"), "$.stationCode").alias("code"))
        .distinct()
        .collect()
    )
    assert [row.code for row in rows] == ["16107"]
    assert type(velib_spark).__module__.startswith("pyspark.sql.connect")
"""


def test_a_missing_client_package_is_named_even_when_pyspark_names_no_module(monkeypatch):
    """pyspark's own dependency check raises an ImportError whose ``name`` is None: the message still says what."""
    real_import = __import__

    def pandas_missing(name, *args, **kwargs):
        if name == "pyspark.sql.connect.session":
            raise ImportError("[PACKAGE_NOT_INSTALLED] Pandas >= 2.0.0 must be installed; however, it was not found.")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", pandas_missing)
    with pytest.raises(
        testenv.UserError, match=r"needs \[PACKAGE_NOT_INSTALLED\] Pandas >= 2\.0\.0 must be installed.*pip install"
    ):
        testenv.require_client()


def test_status_of_a_folder_with_nothing_running_is_down(tmp_path):
    assert testenv.status(tmp_path) is None
    result = CliRunner().invoke(main, ["testenv", "status", "--dir", str(tmp_path)])
    assert (result.exit_code, result.output.strip()) == (1, f"no test environment is up in {tmp_path}")


def test_a_stale_pid_file_naming_another_process_is_neither_up_nor_signalled(tmp_path):
    (tmp_path / "spark.pid").write_text(f"{os.getpid()} 1\n")  # this very process: stop must not kill it
    assert testenv.status(tmp_path) is None
    assert testenv.stop(tmp_path) == []
    assert not (tmp_path / "spark.pid").exists()


def test_the_header_says_when_no_environment_is_up(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("VELIB_REPLAY_TESTENV_DIR", str(tmp_path / "none"))
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_inprocess()
    result.stdout.fnmatch_lines(["velib-replay: no test environment up: this run starts its own broker*"])


def user_pytest(project: Path, environ: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    """pytest run in a user's project, as a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", *options, str(project)],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.integration
@pytest.mark.slow
def test_start_attach_status_stop_leaves_nothing(pytester, tmp_path, sample):
    """Started, pytest (a process of its own, as a user runs it) attaches by itself; stopped, no process of it is
    left and its ports are free."""
    folder = tmp_path / "env"
    started, env = testenv.start(folder)
    try:
        assert started and testenv.start(folder)[0] is False  # a second start finds it up
        assert [part.name for part in env.parts] == ["Kafka", "Spark Connect"]
        assert all(part.rss_bytes > 50 * 2**20 for part in env.parts)
        pytester.makepyfile(test_user=ATTACHED_TEST.format(sample=str(sample.path)))
        environ = os.environ | {"VELIB_REPLAY_TESTENV_DIR": str(folder)}
        result = user_pytest(pytester.path, environ, "-p", "no:cacheprovider")
        assert f"velib-replay: attached to the test environment in {folder}" in result.stdout
        assert result.returncode == 0, result.stdout[-3000:]
        opted_out = user_pytest(pytester.path, environ, "--velib-no-testenv", "--collect-only")
        assert "velib-replay: --velib-no-testenv: this run starts its own broker" in opted_out.stdout
        groups = [part.pid for part in env.parts]
        status = CliRunner().invoke(main, ["testenv", "status", "--dir", str(folder)])
        assert status.exit_code == 0 and "RSS" in status.output
        assert env.token not in status.output
    finally:
        stopped = testenv.stop(folder)
    assert stopped == ["Spark Connect", "Kafka"]
    assert testenv.status(folder) is None
    assert [pid for pid in groups if _alive(pid)] == []
    assert testenv._group_members(groups[1]) == []  # the server's JVM and Python workers too
    ports = [int(part.address.rpartition(":")[2]) for part in env.parts]
    assert [port for port in ports if not _free(port)] == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
