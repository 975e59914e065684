"""--kafka-config against a broker secured as managed clusters are: a SCRAM-SHA-256 listener and ACLs enforced.

With the right credentials play, live, process and verify work end to end; without them, or with wrong ones, or
on a topic the user has no rights to, each command says so in one line and exits 1, within Kafka clients'
bootstrap timeout. A second broker of its own, so the shared plaintext one stays as every other test expects.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE

from velib_replay.capture.server import serve
from velib_replay.cli import main
from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.kafka import broker, client_config
from velib_replay.kafka.sasl import SaslSetup, grant

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PREFIX = "secure-"
SECRET = "alice-s3cret"
WRONG = "not-her-password"


@dataclass(frozen=True)
class SecuredKafka:
    bootstrap: str
    good: Path  # alice's client properties: all rights on secure-* topics
    wrong: Path  # alice with a wrong password


@pytest.fixture(scope="module")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    setup = SaslSetup((("admin", "admin-s3cret"), ("alice", SECRET)))
    folder = tmp_path_factory.mktemp("sasl")
    instance = broker.on_free_ports(folder / "kafka", sasl=setup)
    broker.start(instance, timeout=120)
    try:
        grant(instance.bootstrap_servers, setup, "alice", PREFIX)
        good, wrong = folder / "alice.properties", folder / "wrong.properties"
        good.write_text(setup.client_properties("alice", SECRET))
        wrong.write_text(setup.client_properties("alice", WRONG))
        yield SecuredKafka(instance.bootstrap_servers, good, wrong)
    finally:
        broker.stop(instance)


@pytest.fixture(autouse=True)
def plaintext_afterwards() -> Iterator[None]:
    """The CLI installs --kafka-config process-wide: later tests in this process expect plaintext clients."""
    yield
    client_config.install(client_config.ClientConfig())


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_with_credentials_play_live_process_and_verify_work(
    secured_kafka: SecuredKafka, sample, velib_spark, tmp_path: Path
):
    status, indicators = f"{PREFIX}status-{uuid.uuid4().hex[:8]}", f"{PREFIX}indicators-{uuid.uuid4().hex[:8]}"
    kafka = ["--bootstrap-servers", secured_kafka.bootstrap, "--kafka-config", str(secured_kafka.good)]
    played = invoke("play", str(SAMPLE), "--speed", "max", "--quiet", "--topic", status, *kafka)
    assert played.exit_code == 0, played.output
    with serve(sample, speed=None, port=0).start() as server:
        url = f"{server.url}/station_status.json"
        lived = invoke("live", "--url", url, "--interval", "0.05", "--count", "1", "--topic", f"{status}-live", *kafka)
    assert lived.exit_code == 0, lived.output
    assert "published 1 snapshot" in lived.output
    topics = ["--topic", status, "--indicators-topic", indicators, "--quarantine-topic", f"{PREFIX}q-{status}"]
    job = ["process", "--once", "--show", "0", "--checkpoint", str(tmp_path / "checkpoint"), *topics, *kafka]
    processed = invoke(*job)
    assert processed.exit_code == 0, processed.output
    assert "0 message(s) set aside" in processed.output
    verified = invoke("verify", "--recording", str(SAMPLE), "--indicators-topic", indicators, *kafka)
    assert verified.exit_code == 0, verified.output
    assert SECRET not in played.output + lived.output + processed.output + verified.output


def run_cli(*args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "velib_replay", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(run: subprocess.Popen) -> tuple[str, int]:
    """Its output and exit status."""
    output = run.communicate(timeout=300)[0]
    return output, run.returncode


def test_without_or_with_wrong_credentials_each_command_fails_fast_in_one_line(
    secured_kafka: SecuredKafka, sample, tmp_path: Path
):
    """Run side by side (each waits on the bootstrap timeout), as separate processes like a user's commands."""
    kafka = ["--bootstrap-servers", secured_kafka.bootstrap]
    wrong = [*kafka, "--kafka-config", str(secured_kafka.wrong)]
    topic = ["--topic", f"{PREFIX}denied"]
    with serve(sample, speed=None, port=0).start() as server:
        url = f"{server.url}/station_status.json"
        runs = {
            "play, wrong password": run_cli("play", str(SAMPLE), "--limit", "1", *topic, *wrong),
            "verify, no credentials": run_cli("verify", "--recording", str(SAMPLE), *kafka),
            "live, wrong password": run_cli("live", "--url", url, "--count", "1", *topic, *wrong),
            "process, wrong password": run_cli(
                "process", "--once", "--master", "local[1]", "--checkpoint", str(tmp_path / "cp"), *topic, *wrong
            ),
        }
        with ThreadPoolExecutor(len(runs)) as pool:
            outputs = dict(zip(runs, pool.map(finish, runs.values()), strict=True))
    for name, (output, code) in outputs.items():
        errors = [line for line in output.splitlines() if line.startswith("Error: ")]
        assert code == 1, (name, output)
        assert len(errors) == 1 and "Traceback" not in output, (name, output)
        assert WRONG not in output, name
    assert "credentials of --kafka-config" in outputs["play, wrong password"][0]
    assert "a secured cluster needs --kafka-config" in outputs["verify, no credentials"][0]


def test_a_wrong_password_fails_within_the_bootstrap_timeout_not_a_60_s_default(secured_kafka: SecuredKafka):
    """Timed in process: four commands side by side above measure Python and JVM start-up on a busy machine."""
    kafka = ["--bootstrap-servers", secured_kafka.bootstrap, "--kafka-config", str(secured_kafka.wrong)]
    started = time.monotonic()
    refused = invoke("verify", "--recording", str(SAMPLE), "--indicators-topic", f"{PREFIX}x", *kafka)
    seconds = time.monotonic() - started
    assert refused.exit_code == 1 and "credentials of --kafka-config" in refused.output
    assert seconds < BOOTSTRAP_TIMEOUT_MS / 1000 + 10, seconds


def test_a_topic_without_rights_is_refused_in_one_line(secured_kafka: SecuredKafka):
    kafka = ["--bootstrap-servers", secured_kafka.bootstrap, "--kafka-config", str(secured_kafka.good)]
    refused = invoke("play", str(SAMPLE), "--limit", "1", "--topic", "not-alices", *kafka)
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: cannot create topic not-alices: ") and "not authorized" in refused.output
