"""The job's metrics and health, from the StreamingQueryListener and Kafka's end offsets, over HTTP."""

from __future__ import annotations

import pytest
from helpers import replay
from kafka import KafkaProducer
from observed_process import get, parse_metrics

from velib_replay.job.runner import run_once
from velib_replay.observe import metrics
from velib_replay.observe.health import verdict
from velib_replay.observe.job_metrics import JobObserver, kafka_end_offsets

SNAPSHOTS = 2


@pytest.mark.integration
@pytest.mark.slow
def test_job_metrics_match_the_run_and_health_turns_503_when_it_falls_behind(
    sample, velib_kafka, velib_kafka_target, velib_topics, velib_spark, checkpoint
):
    sent = replay(sample, velib_kafka, velib_topics.status, speed=None, limit=SNAPSHOTS).delivered
    observer = JobObserver(velib_topics.status, kafka_end_offsets(velib_kafka_target))
    with metrics.serving(observer.serving_health(max_lag=3), 0, "127.0.0.1") as server:
        summary = run_once(velib_topics.job_config(checkpoint), velib_spark, listener=observer.listener)
        seen = parse_metrics(get(server.url + "/metrics"))
        assert verdict(observer.observed.checks) == (200, b'{"status": "ok"}\n')
        producer = KafkaProducer(bootstrap_servers=velib_kafka)
        for _ in range(5):
            producer.send(velib_topics.status, b"{}")
        producer.close()
        status, body = verdict(observer.observed.checks)
    assert (status, body) == (
        503,
        b'{"status": "unhealthy", "reason": "the job\'s input lag is 5 messages, above the threshold of 3 messages"}\n',
    )
    assert seen['velib_replay_job_input_rows_total{query="job"}'] == sent == summary.input_rows
    assert seen["velib_replay_job_indicator_rows_total"] == summary.indicator_rows > 0
    assert seen["velib_replay_job_quarantined_rows_total"] == summary.quarantined == 0
    assert seen['velib_replay_job_batches_total{query="job"}'] == summary.batches
    assert seen['velib_replay_job_batch_duration_seconds_count{query="job"}'] == summary.batches
    assert seen["velib_replay_job_late_rows_dropped_total"] == summary.dropped_late == 0
    assert seen["velib_replay_job_state_rows"] == summary.indicator_rows  # one state row per (snapshot, postcode)
    assert seen["velib_replay_job_input_lag_messages"] == 0 and seen["velib_replay_job_kafka_up"] == 1
    assert seen["velib_replay_job_failed"] == 0
