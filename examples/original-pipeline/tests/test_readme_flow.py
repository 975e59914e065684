"""The original consumer run as README.md tells a user: `velib-replay kafka start`, `topics`, the job started with
`python job.py` and the jars of `setup --print-jars`, `play --speed 10x`, then `verify --key-fields postcode`
polled until the job's rows equal the golden file. Every command is the installed CLI in a subprocess, from the
velib-replay checkout; the broker is one of the test's own, on free ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from velib_replay import config
from velib_replay.kafka.broker import free_port

pytestmark = pytest.mark.integration

CHECKOUT = config.project_root()
EXAMPLE = Path(__file__).resolve().parents[1].relative_to(CHECKOUT)
CLI = str(Path(sys.executable).parent / "velib-replay")
VERIFY_WITHIN_S = 240.0


def run(*args: str, env: dict[str, str], timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def broker_env(tmp_path: Path):
    """`velib-replay kafka start` on free ports; the environment that points every command at it."""
    port = free_port()
    # attached to a test environment, pyspark marked this process Spark Connect (SPARK_CONNECT_MODE_ENABLED): the
    # job's own classic pyspark must not inherit it
    inherited = {name: value for name, value in os.environ.items() if name != "SPARK_CONNECT_MODE_ENABLED"}
    env = inherited | {"VELIB_REPLAY_BOOTSTRAP_SERVERS": f"localhost:{port}"}
    data_dir = str(tmp_path / "kafka")
    started = run(
        "kafka", "start", "--port", str(port), "--controller-port", str(free_port()), "--data-dir", data_dir, env=env
    )
    assert started.returncode == 0, started.stderr
    try:
        yield env
    finally:
        run("kafka", "stop", "--data-dir", data_dir, env=env)


def start_job(env: dict[str, str], checkpoint: Path, log: Path) -> subprocess.Popen[bytes]:
    """`eval "$(velib-replay setup --print-jars)"; python job.py ...`, in a process group of its own (the JVM too)."""
    bootstrap = env["VELIB_REPLAY_BOOTSTRAP_SERVERS"]
    shell = (
        f'eval "$({CLI} setup --print-jars)" && exec {sys.executable} {EXAMPLE}/job.py '
        f"--bootstrap-servers {bootstrap} --checkpoint {checkpoint}"
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            ["bash", "-c", shell], cwd=CHECKOUT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_job(job: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the job's group (Python and its JVM), then make sure nothing of it is left."""
    os.killpg(job.pid, signal.SIGTERM)
    try:
        job.wait(timeout=60)
    finally:
        deadline = time.monotonic() + 30
        while _group_alive(job.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _group_alive(job.pid):
            os.killpg(job.pid, signal.SIGKILL)
            pytest.fail("the job's JVM outlived SIGTERM")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


README_COMMANDS = (  # as README.md prints them: this test runs these (on its own broker's port)
    "velib-replay kafka start",
    "velib-replay topics",
    'eval "$(velib-replay setup --print-jars)"',
    "python examples/original-pipeline/job.py --bootstrap-servers localhost:9092 &",
    "velib-replay play recordings/sample --speed 10x",
    "velib-replay verify --topic velib-projet-final-data --key-fields postcode",
    "--golden examples/original-pipeline/tests/golden/per_postcode.jsonl",
)


def test_the_readme_says_what_this_test_runs():
    readme = (CHECKOUT / EXAMPLE / "README.md").read_text()
    assert [command for command in README_COMMANDS if command not in readme] == []


def test_the_readme_flow_verifies_the_jobs_unkeyed_rows(broker_env, tmp_path):
    topics = run("topics", env=broker_env)
    assert topics.returncode == 0, topics.stderr
    created = "velib-projet, velib-projet-final-data, velib-projet-quarantine"
    assert topics.stdout == f"Created: {created}; already there: none\n"
    job = start_job(broker_env, tmp_path / "checkpoint", tmp_path / "job.log")
    try:
        played = run("play", "recordings/sample", "--speed", "10x", "--quiet", env=broker_env)
        assert played.returncode == 0, played.stderr
        golden = f"{EXAMPLE}/tests/golden/per_postcode.jsonl"
        verify = ("verify", "--topic", "velib-projet-final-data", "--key-fields", "postcode", "--golden", golden)
        deadline = time.monotonic() + VERIFY_WITHIN_S
        while (verdict := run(*verify, env=broker_env)).returncode != 0 and time.monotonic() < deadline:
            assert job.poll() is None, (tmp_path / "job.log").read_text()[-3000:]
            time.sleep(3)
    finally:
        stop_job(job)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert verdict.stdout.startswith("OK: 86 rows in velib-projet-final-data equal"), verdict.stdout
