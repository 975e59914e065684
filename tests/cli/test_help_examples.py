"""Every command's --help ends with examples, and each one runs exactly as written, so they stay true.

The examples are read back from the help text. They run one after another in the order ``velib-replay --help``
lists the commands, in a folder of their own holding a copy of the sample, with the settings a user would have in
their environment pointing at the test's resources: the suite's broker, fresh topics, free ports, the sample served
as the API (``live`` publishes to a topic of its own, so that ``verify`` checks what ``play`` sent).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import SAMPLE
from example_lines import commands, help_examples

from velib_replay.capture.server import serve
from velib_replay.kafka import broker
from velib_replay.recording import Recording

OWN_TOPIC = {"live": {"VELIB_REPLAY_STATUS_TOPIC": f"examples-live-{uuid.uuid4().hex[:8]}"}}
SERVING = {"serve", "dashboard"}  # they run until stopped: each is started, then stopped by Ctrl-C
STOPPED_BY_CTRL_C = 128 + signal.SIGINT  # every verb's exit status after a stopping signal
RUN_TIMEOUT_S = 600  # demo and scenario run start a broker or Spark: minutes on a busy 2-core machine


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_each_command_ends_its_help_with_examples_of_itself(path):
    found = help_examples(path)
    assert 1 <= len(found) <= 4, found
    assert all(line.startswith(f"velib-replay {' '.join(path)}") for line in found), found


@pytest.mark.integration
@pytest.mark.slow
def test_every_example_runs_as_written(velib_kafka, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(SAMPLE, work / "recordings" / "sample")
    for shipped in ("scenarios", "examples"):  # read only
        (work / shipped).symlink_to(SAMPLE.parents[1] / shipped)
    suffix = uuid.uuid4().hex[:8]
    env = os.environ | {
        "VELIB_REPLAY_BOOTSTRAP_SERVERS": velib_kafka,
        "VELIB_REPLAY_STATUS_TOPIC": f"examples-{suffix}",
        "VELIB_REPLAY_INDICATORS_TOPIC": f"examples-{suffix}-indicators",
        "VELIB_REPLAY_QUARANTINE_TOPIC": f"examples-{suffix}-quarantine",
        "VELIB_REPLAY_KAFKA_PORT": str(broker.free_port()),
        "VELIB_REPLAY_KAFKA_DATA_DIR": str(tmp_path / "kafka"),
        "VELIB_REPLAY_CHECKPOINT": str(tmp_path / "checkpoint"),
        "VELIB_REPLAY_REPORTS_DIR": str(work / "reports"),
        "VELIB_REPLAY_SERVE_PORT": "0",
        "VELIB_REPLAY_DASHBOARD_PORT": "0",
    }
    api = serve(Recording(SAMPLE), speed=None, port=0, loop=True)
    env |= {"VELIB_REPLAY_STATUS_URL": f"{api.url}/station_status.json"}
    env |= {"VELIB_REPLAY_INFO_URL": f"{api.url}/station_information.json"}
    ran = []
    try:
        with api.start():
            for path in commands():
                for line in help_examples(path):
                    argv = [sys.executable, "-m", "velib_replay", *shlex.split(line)[1:]]
                    settings = env | OWN_TOPIC.get(path[0], {})
                    code, output = (_serving if path[0] in SERVING else _run)(argv, settings, work)
                    assert code == (STOPPED_BY_CTRL_C if path[0] in SERVING else 0), f"{line}\n{output}"
                    ran.append(line)
    finally:
        _run([sys.executable, "-m", "velib_replay", "kafka", "stop"], env, work)  # demo leaves its broker running
    assert len(ran) == sum(len(help_examples(path)) for path in commands())


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    return done.returncode, done.stdout + done.stderr


def _serving(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Started (its first line printed), then stopped as a user stops it: Ctrl-C."""
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[0]
    return process.returncode if first else -1, first + rest
