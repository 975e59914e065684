"""--kafka-config against a broker secured as managed clusters are: a SCRAM-SHA-256 listener and ACLs enforced.

With the right credentials play, live, process and verify work end to end; without them, or with wrong ones, or
on a topic the user has no rights to, each command says so in one line and exits 1, within Kafka clients'
bootstrap timeout. A second broker of its own, so the shared plaintext one stays as every other test expects.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from kafka import KafkaProducer

from velib_replay.capture.server import serve
from velib_replay.cli import main
from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.kafka import broker, client_config
from velib_replay.kafka.sasl import SaslSetup, grant

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PREFIX = "secure-"
SECRET = "alice-s3cret"
WRONG = "not-her-password"
SCENARIOS = Path(__file__).parents[2] / "scenarios"


@dataclass(frozen=True)
class SecuredKafka:
    bootstrap: str
    good: Path  # alice's client properties: all rights on secure-* topics
    wrong: Path  # alice with a wrong password
    admin: Path  # the super user's: for the runs that name their own topics (scenarios, the plugin)


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
        admin = folder / "admin.properties"
        admin.write_text(setup.client_properties("admin", "admin-s3cret"))
        yield SecuredKafka(instance.bootstrap_servers, good, wrong, admin)
    finally:
        broker.stop(instance)


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


def test_with_credentials_report_dashboard_scenario_and_the_plugin_work(secured_kafka: SecuredKafka, tmp_path: Path):
    """--kafka-config on every verb that reads or writes Kafka, and --velib-kafka-config for the pytest plugin."""
    indicators = f"{PREFIX}indicators-{uuid.uuid4().hex[:8]}"
    kafka = ["--bootstrap-servers", secured_kafka.bootstrap, "--kafka-config", str(secured_kafka.good)]
    counts = {"stations": 2, "bikes_available": 7, "mechanical": 4, "ebike": 3, "docks_available": 30}
    row = {"snapshot_time": "2025-10-18T09:00:00Z", "postcode": "75001", **counts}
    producer = KafkaProducer(
        bootstrap_servers=secured_kafka.bootstrap, **client_config.load(secured_kafka.good).kafka_python()
    )
    producer.send(indicators, key=b"2025-10-18T09:00:00Z|75001", value=json.dumps(row).encode()).get(timeout=60)
    producer.close()
    out = ["--out", str(tmp_path / "r.html"), "--no-images"]
    reported = invoke("report", "--from-topic", "--indicators-topic", indicators, *out, *kafka)
    assert reported.exit_code == 0, reported.output
    assert "75001" in (tmp_path / "r.html").read_text()

    dashboard = run_cli("dashboard", "--port", "0", "--indicators-topic", indicators, *kafka)
    try:
        started = next(line for line in dashboard.stdout if line.startswith("Dashboard on "))
        url = started.split()[2]
        with urllib.request.urlopen(f"{url}events", timeout=60) as events:
            states = (json.loads(line[len("data: ") :]) for line in events if line.startswith(b"data: {"))
            assert next(state for state in states if state.get("rows"))["postcodes"]["75001"]["bikes_available"] == 7
    finally:
        dashboard.terminate()
        dashboard.communicate(timeout=30)

    admin = ["--bootstrap-servers", secured_kafka.bootstrap, "--kafka-config", str(secured_kafka.admin)]
    scenario = invoke("scenario", "run", str(SCENARIOS / "01-happy-path.toml"), *admin)
    assert scenario.exit_code == 0, scenario.output

    (tmp_path / "test_secured.py").write_text(
        "def test_plays_to_the_secured_broker(velib_play, velib_topics, velib_latest):\n"
        f"    assert velib_play({str(SAMPLE)!r}, stations='16107').delivered == 11\n"
        "    assert len(velib_latest(velib_topics.status, key='stationCode')) == 1\n"
    )
    plugin = ["--velib-bootstrap", secured_kafka.bootstrap, "--velib-kafka-config", str(secured_kafka.admin)]
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_secured.py"), *plugin],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert SECRET not in reported.output + scenario.output + ran.stdout


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
