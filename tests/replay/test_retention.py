"""``play`` refuses, before sending, a replay whose feed-time stamps the target topic would delete or refuse: the
sample (October 2025) played to a topic made with the broker's defaults (7 days of retention) would be deleted
by the broker's next retention check, minutes after every record was reported delivered."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from velib_replay.cli import main
from velib_replay.recording import Recording
from velib_replay.replay.pacing import Timeline
from velib_replay.replay.player import stamp_range
from velib_replay.replay.retention import AFTER, BEFORE, RETENTION, feed_time_problem

NOW = 1_800_000_000  # 2027-01-15
OCTOBER_2025 = (1_760_778_736, 1_760_779_096)
WEEK_MS = str(7 * 24 * 3600 * 1000)
DEFAULTS = {"cleanup.policy": "delete", RETENTION: WEEK_MS, BEFORE: str(2**63 - 1), AFTER: "3600000"}


@pytest.mark.parametrize(
    ("settings", "stamps", "setting"),
    [
        (DEFAULTS, OCTOBER_2025, RETENTION),  # the broker's defaults: deleted at the next retention check
        (DEFAULTS | {RETENTION: "-1"}, OCTOBER_2025, None),  # velib-replay topics: retention off
        (DEFAULTS | {"cleanup.policy": "compact"}, OCTOBER_2025, None),  # compaction deletes nothing by age
        (DEFAULTS, (NOW - 3600, NOW), None),  # an hour old: kept a week
        (DEFAULTS | {RETENTION: "-1", BEFORE: "86400000"}, OCTOBER_2025, BEFORE),
        (DEFAULTS, (NOW, NOW + 7200), AFTER),  # --rebase-time now with loop passes reaching 2 hours ahead
        (DEFAULTS, (NOW, NOW + 3000), None),
    ],
)
def test_the_setting_that_would_lose_records_is_named(settings, stamps, setting):
    problem = feed_time_problem(settings, *stamps, NOW)
    assert (problem[1] if problem else None) == setting


def test_the_retention_problem_says_what_the_broker_would_do():
    what, _ = feed_time_problem(DEFAULTS, *OCTOBER_2025, NOW)
    assert what == (
        f"it keeps records 168h00m00s (retention.ms={WEEK_MS}), and this replay's feed times start at "
        "2025-10-18T09:12:16Z: the broker would delete them at its next retention check"
    )


def records_in(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partition = TopicPartition(topic, 0)
        return consumer.end_offsets([partition])[partition]
    finally:
        consumer.close()


def play(bootstrap: str, topic: str, *args: str):
    command = [
        "play",
        str(SAMPLE),
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        topic,
        "--quiet",
        "--speed",
        "max",
        *args,
    ]
    return CliRunner().invoke(main, command)


@pytest.mark.integration
def test_a_topic_with_the_brokers_defaults_is_refused_up_front_naming_the_ways_out(velib_kafka):
    topic = f"by-hand-{uuid.uuid4().hex[:10]}"  # as kafka-topics.sh --create makes it: the broker's defaults
    admin = KafkaAdminClient(bootstrap_servers=velib_kafka)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    for args in ((), ("--dry-run",)):
        refused = play(velib_kafka, topic, *args)
        assert refused.exit_code == 1, refused.output
        assert refused.output.splitlines()[-1] == (
            f"Error: topic {topic} would not keep this replay: it keeps records 168h00m00s (retention.ms={WEEK_MS}), "
            "and this replay's feed times start at 2025-10-18T09:09:16Z: the broker would delete them at its next "
            "retention check; nothing was sent. Play with --timestamps send (records stamped when sent), to a topic "
            f"made by `velib-replay topics`, or change the topic: kafka-configs.sh --bootstrap-server {velib_kafka} "
            f"--alter --entity-type topics --entity-name {topic} --add-config retention.ms=-1"
        )
    assert records_in(velib_kafka, topic) == 0
    for way_out in (("--timestamps", "send"), ("--rebase-time", "now")):
        assert play(velib_kafka, topic, *way_out).exit_code == 0
    assert records_in(velib_kafka, topic) == 2 * 16_442


def test_stamp_range_spans_every_loop_pass():
    snapshots = list(Recording(SAMPLE).snapshots())
    once = stamp_range(Timeline(snapshots))
    twice = stamp_range(Timeline(snapshots, passes=2))
    endless = stamp_range(Timeline(snapshots, passes=0))
    assert once == endless == (1_760_778_556, 1_760_779_096)  # 2025-10-18T09:09:16Z to 09:18:16Z
    assert twice == (once[0], once[1] + round(Timeline(snapshots).length))
