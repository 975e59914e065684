"""Creating the pipeline's topics when absent, so no step needs a hand-typed kafka-topics command."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import KafkaTarget, bootstrapping


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1
    replication: int = 1
    configs: dict[str, str] = field(default_factory=dict)


# Records carry their feed time as Kafka timestamp (``--timestamps feed``): a recording older than the
# broker's retention (7 days by default) would be deleted at its next retention check, minutes after a replay,
# and a replay stamped ahead of the broker's clock (``--rebase-time now`` with ``--loop``, a skewed clock)
# refused beyond message.timestamp.after.max.ms (1 hour by default since Kafka 4.0).
FEED_TIME_CONFIGS = {"retention.ms": "-1", "message.timestamp.after.max.ms": str(2**63 - 1)}


def status_topic(name: str, partitions: int = 1, replication: int = 1) -> TopicSpec:
    """Takes and keeps records whatever the feed time on them (see FEED_TIME_CONFIGS)."""
    return TopicSpec(name, partitions, replication, dict(FEED_TIME_CONFIGS))


def indicators_topic(name: str, partitions: int = 1, replication: int = 1, *, compact: bool = False) -> TopicSpec:
    """Plain by default: every row is kept and any writer's rows are taken, keyed or not (the original consumer
    writes without keys), and readers keep the latest per key. ``compact``: Kafka itself eventually keeps only
    the latest value per key, and refuses records without a key."""
    if compact:
        return TopicSpec(name, partitions, replication, {"cleanup.policy": "compact"})
    return status_topic(name, partitions, replication)


def pipeline_topics(
    status: str,
    indicators: str,
    quarantine: str,
    *,
    partitions: int = 1,
    replication: int = 1,
    min_insync: int | None = None,
    compact: bool = False,
) -> list[TopicSpec]:
    """The three topics of the pipeline: station messages, indicators (compacted with ``compact``), and set-aside
    messages.

    ``min_insync`` (with acks=all producers) is how many replicas must have a write before it counts:
    2 of 3 keeps every acknowledged message through the loss of one broker.
    """
    specs = [
        status_topic(status, partitions, replication),
        indicators_topic(indicators, partitions, replication, compact=compact),
        status_topic(quarantine, 1, replication),
    ]
    durable = {"min.insync.replicas": str(min_insync)} if min_insync else {}
    return [replace(spec, configs=spec.configs | durable) for spec in specs]


def admin_client(target: KafkaTarget, timeout_ms: int = BOOTSTRAP_TIMEOUT_MS) -> KafkaAdminClient:
    with bootstrapping(target, KafkaTimeoutError):
        return KafkaAdminClient(
            client_id="velib-replay-admin",
            bootstrap_timeout_ms=timeout_ms,
            **target.kafka_python(),
        )


def ensure_topics(target: KafkaTarget, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = admin_client(target)
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        for spec in missing:
            topic = NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=dict(spec.configs))
            try:
                admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass  # created meanwhile by another process
            except KafkaError as error:
                reason = getattr(error, "description", None) or error  # kafka-python's is a sentence
                raise UserError(f"cannot create topic {spec.name}: {reason}") from None
        return [spec.name for spec in missing]
    finally:
        admin.close()


def delete_topics(target: KafkaTarget, names: list[str]) -> list[str]:
    """Delete those of ``names`` that exist; returns the names deleted."""
    admin = admin_client(target)
    try:
        doomed = [name for name in names if name in set(admin.list_topics())]
        if doomed:
            admin.delete_topics(doomed)
        return doomed
    finally:
        admin.close()


def topic_config(
    target: KafkaTarget, topic: str, names: list[str], timeout_ms: int = BOOTSTRAP_TIMEOUT_MS
) -> dict[str, str] | None:
    """The topic's values of the settings ``names``, the broker's default where not overridden; None when the topic
    does not exist (yet)."""
    admin = admin_client(target, timeout_ms)
    try:
        if topic not in set(admin.list_topics()):
            return None
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=dict.fromkeys(names))
        try:
            found = admin.describe_configs([resource], config_filter="all")["topic"][topic]
        except KafkaError as error:
            raise UserError(f"cannot read the settings of topic {topic}: {error}") from None
        return {name: entry["value"] for name, entry in found.items() if entry.get("value") is not None}
    finally:
        admin.close()


def end_offsets(target: KafkaTarget, topic: str) -> dict[int, int]:
    """Each partition's end offset (where the next record goes); empty for a topic that does not exist."""
    with bootstrapping(target, KafkaTimeoutError):
        consumer = KafkaConsumer(
            enable_auto_commit=False,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            **target.kafka_python(),
        )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()} if partitions else {}
    finally:
        consumer.close()
