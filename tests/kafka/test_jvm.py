"""The jar sets' pure parts: artifact naming, what pyspark already ships, the stamp, Ivy's errors, worker Python.

Resolution itself (Ivy downloading from Maven Central) is exercised by the suite's broker start and Spark session.
"""

from __future__ import annotations

import shutil
import socket
import sys

import pytest

from velib_replay import config
from velib_replay.errors import UserError
from velib_replay.job.session import worker_python
from velib_replay.kafka import jvm


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VELIB_REPLAY_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("kafka-clients-3.9.2.jar", "kafka-clients"),
        ("spark-sql-kafka-0-10_2.13-4.2.0.jar", "spark-sql-kafka-0-10_2.13"),
        ("scala-logging_2.13-3.9.5.jar", "scala-logging_2.13"),
        ("zstd-jni-1.5.7-7.jar", "zstd-jni"),
        ("javassist-3.30.2-GA.jar", "javassist"),
        ("jakarta.ws.rs-api-3.1.0.jar", "jakarta.ws.rs-api"),
        ("log4j-slf4j2-impl-2.25.4.jar", "log4j-slf4j2-impl"),
        ("commons-pool2-2.13.1.jar", "commons-pool2"),
        ("unversioned.jar", "unversioned"),
    ],
)
def test_artifact_name_drops_only_the_version(jar, artifact):
    assert jvm.artifact_name(jar) == artifact


def test_pyspark_ships_ivy_and_spark_but_not_the_kafka_connector():
    shipped = jvm.pyspark_artifacts()
    assert {"ivy", "spark-core_2.13", "slf4j-api", "zstd-jni"} <= shipped
    assert not {"kafka-clients", "spark-sql-kafka-0-10_2.13", "commons-pool2"} & shipped
    assert jvm.ivy_jar().name.startswith("ivy-2.")


def test_jars_pyspark_ships_are_dropped_whatever_their_version(tmp_path):
    names = ["kafka-clients-3.9.2.jar", "slf4j-api-1.7.36.jar", "zstd-jni-1.5.6-10.jar", "commons-pool2-2.13.1.jar"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert jvm.drop_shipped_by_pyspark(tmp_path) == ["slf4j-api-1.7.36.jar", "zstd-jni-1.5.6-10.jar"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["commons-pool2-2.13.1.jar", "kafka-clients-3.9.2.jar"]


def test_ivy_files_keep_the_connector_exclusions_and_no_maven_is_left():
    connector = (jvm.RESOURCES / "spark-kafka.ivy.xml").read_text()
    for excluded in ('org="org.apache.hadoop"', 'org="org.slf4j"', 'module="spark-tags_2.13"', 'module="lz4-java"'):
        assert excluded in connector
    assert not list(jvm.RESOURCES.glob("*.pom.xml"))
    assert "mvn" not in jvm.ivy_command("java", "broker", jvm.jar_dir("broker"))


def test_ivy_caches_its_downloads_inside_the_project_cache(cache):
    command = jvm.ivy_command("java", "spark-kafka", cache / "out")
    assert command[command.index("-cache") + 1] == str(cache / "ivy")
    assert command[command.index("-retrieve") + 1].startswith(str(cache / "out") + "/")
    assert f"-Dvelib.repo={jvm.MAVEN_CENTRAL}" in command


def test_a_stamped_set_is_used_without_java_and_a_changed_list_resolves_again(cache, tmp_path, monkeypatch):
    resources = tmp_path / "resources"
    shutil.copytree(jvm.RESOURCES, resources)
    monkeypatch.setattr(jvm, "RESOURCES", resources)
    folder = jvm.jar_dir("spark-kafka")
    folder.mkdir(parents=True)
    (folder / "kafka-clients-3.9.2.jar").write_bytes(b"")
    (folder / ".resolved").write_text(jvm.stamp_value("spark-kafka") + "\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no java: any resolution would fail
    assert jvm.is_resolved("spark-kafka")
    assert jvm.jars("spark-kafka") == [folder / "kafka-clients-3.9.2.jar"]
    assert not jvm.is_resolved("broker")

    ivy_file = resources / "spark-kafka.ivy.xml"
    ivy_file.write_text(ivy_file.read_text().replace('rev="4.2.0"', 'rev="4.2.1"'))
    assert not jvm.is_resolved("spark-kafka")
    with pytest.raises(UserError, match="Java not found"):
        jvm.resolve("spark-kafka")
    assert (folder / "kafka-clients-3.9.2.jar").exists()  # the old set stays until a new one is complete


def test_ivy_failures_are_one_line_naming_what_failed(monkeypatch):
    monkeypatch.setenv("VELIB_REPLAY_MAVEN_REPO", "https://mirror.example/maven2/")
    missing = "\t\t:: org.apache.spark#spark-sql-kafka-0-10_2.13;9.9.9: not found\n"
    assert jvm.ivy_failure(missing) == (
        "org.apache.spark#spark-sql-kafka-0-10_2.13;9.9.9 not found in https://mirror.example/maven2/"
    )
    refused = "(java.net.ConnectException: Connection refused)"
    unreachable = missing + f"\tServer access error at url http://x/a.pom {refused}\n"
    assert jvm.ivy_failure(unreachable).startswith(
        "cannot download http://x/a.pom (java.net.ConnectException: Connection refused; no network"
    )


def test_an_unreachable_repository_fails_with_one_line_and_leaves_no_set(cache, monkeypatch):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("VELIB_REPLAY_MAVEN_REPO", f"http://127.0.0.1:{port}/")
    with pytest.raises(UserError) as failure:
        jvm.resolve("spark-kafka", quiet=True)
    message = str(failure.value)
    assert message.startswith(f"could not resolve the spark-kafka jars: cannot download http://127.0.0.1:{port}/")
    assert "\n" not in message
    assert not (cache / "jars").exists() or not any((cache / "jars").iterdir())
    assert config.cache_dir() == cache


def test_spark_workers_run_this_interpreter_unless_pyspark_python_is_set(monkeypatch):
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    assert worker_python() == sys.executable
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/cluster/python3")
    assert worker_python() == "/opt/cluster/python3"
