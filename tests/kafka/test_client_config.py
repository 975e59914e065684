"""--kafka-config: Kafka's client properties mapped to each client, bad files refused in one line, secrets hidden."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from velib_replay.cli import main
from velib_replay.errors import UserError
from velib_replay.job.config import JobConfig
from velib_replay.job.pipeline import PipelineTopics
from velib_replay.kafka import broker, client_config, topics
from velib_replay.kafka.client_config import KafkaTarget, from_properties, parse_properties
from velib_replay.kafka.sasl import SaslSetup
from velib_replay.scenario.steps import job_command

SCRAM = """\
# as for kafka-console-producer --producer.config
security.protocol=SASL_SSL
sasl.mechanism: SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
    username="alice" password="s3cr\\"et";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/ca.pem
ssl.endpoint.identification.algorithm=
"""


def config_of(text: str) -> client_config.ClientConfig:
    return from_properties(parse_properties(text, "client.properties"), "client.properties")


def test_each_client_gets_the_same_settings_under_its_own_names():
    config = config_of(SCRAM)
    assert config.kafka_python() == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "alice",
        "sasl_plain_password": 's3cr"et',
        "ssl_cafile": "/etc/kafka/ca.pem",
        "ssl_check_hostname": False,
    }
    assert config.librdkafka() == {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": 's3cr"et',
        "ssl.ca.location": "/etc/kafka/ca.pem",
        "ssl.endpoint.identification.algorithm": "none",
    }
    spark = config.spark()
    assert spark["kafka.security.protocol"] == "SASL_SSL"
    assert spark["kafka.sasl.jaas.config"].endswith('username="alice" password="s3cr\\"et";')


def test_no_file_means_plaintext_clients_unchanged():
    config = client_config.ClientConfig()
    assert config.kafka_python() == config.librdkafka() == config.spark() == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI\n", "sasl.mechanism 'GSSAPI' is not one of"),
        ("security.protocol=TLS\n", "security.protocol 'TLS' is not one of"),
        ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n", "needs sasl.jaas.config"),
        ("bootstrap.servers=x:9092\n", "unsupported property bootstrap.servers"),
        ("ssl.truststore.location=/ts.jks\n", "ssl.truststore.type JKS is read by Java only"),
        ("sasl.mechanism=PLAIN\n", "need security.protocol SASL_PLAINTEXT or SASL_SSL"),
        ("=oops\n", "line 1: expected key=value"),
        (
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config="
            'org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b";\n',
            "must use the login module of PLAIN",
        ),
        (
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config="
            'org.apache.kafka.common.security.plain.PlainLoginModule required username="a";\n',
            'needs username="..." and password="..."',
        ),
    ],
)
def test_a_file_no_client_could_honour_is_refused_naming_why(text: str, says: str):
    with pytest.raises(UserError, match=r"^client\.properties") as refused:
        config_of(text)
    assert says in str(refused.value)


def test_redact_hides_the_secrets_of_the_settings():
    redacted = config_of(SCRAM).redact('failed: password="s3cr"et" for alice')
    assert redacted == 'failed: password="[hidden]" for alice'


def test_a_job_config_built_before_the_settings_were_loaded_cannot_miss_them():
    """No process-wide settings: what a JobConfig (or a publisher) uses is the target it was built with, so one
    built early stays plaintext, visibly, and a secured one carries its settings to Spark's source and sinks."""
    early = JobConfig()
    secured = PipelineTopics("s", "i", "q", KafkaTarget("broker:9093", config_of(SCRAM))).job_config(Path("cp"))
    plain = JobConfig()
    assert early.kafka.spark() == plain.kafka.spark() == {"kafka.bootstrap.servers": "localhost:9092"}
    assert secured.kafka.spark()["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert secured.kafka.kafka_python()["sasl_plain_password"] == 's3cr"et'
    assert secured.kafka.librdkafka()["bootstrap.servers"] == "broker:9093"
    assert "s3cr" not in repr(secured) + repr(secured.kafka)
    assert not hasattr(client_config, "install") and not hasattr(client_config, "active")


def test_the_cli_refuses_a_bad_file_in_one_line_and_never_shows_secrets(tmp_path: Path):
    bad = tmp_path / "client.properties"
    bad.write_text(SCRAM.replace("SCRAM-SHA-512", "KERBEROS"))
    result = CliRunner().invoke(main, ["verify", "--kafka-config", str(bad)])
    assert result.exit_code == 2
    assert "sasl.mechanism 'KERBEROS' is not one of" in result.output
    assert "s3cr" not in result.output
    missing = CliRunner().invoke(main, ["play", "recordings/sample", "--kafka-config", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "cannot read Kafka client properties" in missing.output
    for verb in ("play", "live", "process", "verify", "topics"):
        assert "VELIB_REPLAY_KAFKA_CONFIG" in CliRunner().invoke(main, [verb, "--help"]).output


def test_scenario_refuses_settings_without_a_broker_to_use_them_on(tmp_path: Path):
    (tmp_path / "client.properties").write_text(SCRAM)
    args = ["scenario", "run", "scenarios/01-happy-path.toml", "--kafka-config", str(tmp_path / "client.properties")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--kafka-config needs --bootstrap-servers" in result.output


def test_the_secured_test_broker_bootstraps_scram_users_and_hands_out_matching_client_files():
    scram = SaslSetup((("admin", "a"), ("alice", "b")))
    assert scram.format_arguments() == [
        "--add-scram", "SCRAM-SHA-256=[name=admin,password=a]", "--add-scram", "SCRAM-SHA-256=[name=alice,password=b]"
    ]  # fmt: skip
    assert scram.client_config("alice", "b").kafka_python()["sasl_plain_username"] == "alice"
    plain = SaslSetup((("admin", "a"), ("alice", "b")), "PLAIN")
    assert plain.format_arguments() == []  # PLAIN users live in the listener's JAAS line instead
    assert 'user_alice="b";' in plain.listener_properties("127.0.0.1", 1, 2, 1)
    assert plain.client_config("alice", "b").librdkafka()["sasl.mechanism"] == "PLAIN"


def test_only_an_address_that_refuses_every_connection_counts_as_nothing_listening():
    refused = f"localhost:{broker.free_port()}"
    with socket.create_server(("127.0.0.1", 0)) as listening:
        open_port = f"127.0.0.1:{listening.getsockname()[1]}"
        assert client_config.nothing_listens(refused)
        assert client_config.nothing_listens(f"{refused},127.0.0.1:{broker.free_port()}")
        assert not client_config.nothing_listens(f"{refused},{open_port}")  # one that accepts is the client's to try
    assert not client_config.nothing_listens("no-such-host.invalid:9092")  # not a refusal: the client judges
    assert not client_config.nothing_listens("PLAINTEXT://localhost")


def test_a_refused_bootstrap_is_the_one_error_before_any_client_is_built(monkeypatch):
    def never(*_args, **_kwargs):
        raise AssertionError("a client was built")

    monkeypatch.setattr(topics, "KafkaAdminClient", never)
    with pytest.raises(UserError, match=r"^cannot reach Kafka at localhost:\d+ \(is it running\?"):
        topics.admin_client(KafkaTarget(f"localhost:{broker.free_port()}"))


def test_a_scenarios_killed_job_gets_the_same_client_settings_through_a_private_file(tmp_path: Path):
    secured = JobConfig(kafka=KafkaTarget("broker:9093", config_of(SCRAM)))
    command = job_command(secured, tmp_path)
    saved = Path(command[command.index("--kafka-config") + 1])
    assert client_config.load(saved) == secured.kafka.settings
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert [part for part in command if "s3cr" in part] == []  # the password is in the file, not the command line
    assert "--kafka-config" not in job_command(JobConfig(), tmp_path)
