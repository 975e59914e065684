"""Shared test fixtures: one real Kafka broker and one Spark session for the whole run.

The broker is the embedded KRaft broker the product ships (started in a temporary
folder on free ports); set VELIB_REPLAY_TEST_BOOTSTRAP to use a running one instead.
Each test gets its own topic names, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_api import loopback_server, scripted_api  # noqa: F401  (fixtures: api_server, api)
from hypothesis import settings

from velib_replay import config
from velib_replay.job.stations_table import load_postcodes
from velib_replay.kafka import broker, cluster, topics
from velib_replay.recording import Recording

SAMPLE = config.sample_recording()

# Property tests draw the same cases on every run, so CI is no lottery; raise max_examples locally to explore more.
settings.register_profile("velib-replay", derandomize=True, deadline=None)
settings.load_profile("velib-replay")


@pytest.fixture(scope="session")
def postcodes() -> dict[str, str]:
    return load_postcodes(config.stations_table())


@pytest.fixture(scope="session")
def sample() -> Recording:
    return Recording(SAMPLE)


@pytest.fixture(scope="session")
def embedded_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[broker.Broker]:
    """A broker of this test run's own, stopped at the end."""
    data_dir = tmp_path_factory.mktemp("kafka")
    port = broker.free_port()
    instance = broker.Broker(data_dir, port, broker.free_port())
    broker.start(instance, timeout=120)
    yield instance
    broker.stop(instance)


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.Cluster]:
    """A three-node KRaft cluster on loopback (``kafka start --nodes 3``), for the module that asks for it.

    Module-scoped: three more JVMs should not outlive the tests that kill its nodes.
    """
    instance = cluster.Cluster(tmp_path_factory.mktemp("cluster"), 3, broker.free_port())
    cluster.start(instance, timeout=240)
    yield instance
    cluster.stop(instance)


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest) -> str:
    external = os.environ.get("VELIB_REPLAY_TEST_BOOTSTRAP")
    if external:
        return external
    return request.getfixturevalue("embedded_broker").bootstrap_servers


@pytest.fixture(scope="session")
def spark():
    from velib_replay.job.session import spark_session

    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@dataclass(frozen=True)
class PipelineTopics:
    status: str
    indicators: str
    quarantine: str

    def create(self, bootstrap: str, partitions: int = 1) -> PipelineTopics:
        topics.ensure_topics(
            bootstrap, topics.pipeline_topics(self.status, self.indicators, self.quarantine, partitions=partitions)
        )
        return self


def unique_topics() -> PipelineTopics:
    suffix = uuid.uuid4().hex[:10]
    return PipelineTopics(f"status-{suffix}", f"indicators-{suffix}", f"quarantine-{suffix}")


@pytest.fixture
def pipeline_topics(kafka_bootstrap: str) -> PipelineTopics:
    """Fresh, unique topics with one partition each, created on the shared broker."""
    return unique_topics().create(kafka_bootstrap)


@pytest.fixture
def topics_with(kafka_bootstrap: str):
    """Factory: fresh, unique topics with the given number of partitions."""
    return lambda partitions: unique_topics().create(kafka_bootstrap, partitions)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return tmp_path / "checkpoint"
