"""``live --metrics-port --log-format json`` in a subprocess against a loopback API and the real broker."""

from __future__ import annotations

import signal

import pytest
from fake_api import ok, status, status_body
from observed_process import Observed

SNAPSHOTS = 3
STATIONS = 2  # status_body's default stations


@pytest.mark.integration
def test_live_metrics_health_and_json_logs_follow_what_happened(api, velib_kafka, velib_topics):
    bodies = [ok(status_body(clock)) for clock in range(1, SNAPSHOTS + 1)]
    url = api.script("/station_status.json", *bodies, then=status(500))
    live = Observed(
        *("live", "--url", url, "--info-url", "none", "--interval", "1", "--retries", "0", "--stale-after", "1.5"),
        *("--bootstrap-servers", velib_kafka, "--topic", velib_topics.status),
    )
    try:
        published = lambda: live.metrics().get("velib_replay_snapshots_published_total") == SNAPSHOTS  # noqa: E731
        live.until(lambda: published() and live.health() == (200, {"status": "ok"}), "3 published, healthy")
        _, reason = live.until(lambda: (answer := live.health())[0] == 503 and answer, "failing polls' 503")
        assert (
            reason["reason"].startswith("the last ")
            and "poll(s) of station_status failed (HTTP 500" in reason["reason"]
        )
        live.until(lambda: live.metrics()['velib_replay_polls_total{outcome="gap"}'] >= 4, "4 failed polls")
        seen = live.metrics()
    finally:
        exit_code, summary = live.stop(signal.SIGTERM)
    assert exit_code == 143, summary  # 128 + SIGTERM: stopped cleanly by the signal
    assert seen['velib_replay_polls_total{outcome="snapshot"}'] == SNAPSHOTS
    assert seen['velib_replay_polls_total{outcome="gap"}'] >= 4
    assert seen["velib_replay_messages_published_total"] == SNAPSHOTS * STATIONS
    assert seen["velib_replay_fetch_seconds_count"] == sum(
        v for k, v in seen.items() if k.startswith("velib_replay_polls_total")
    )
    assert seen["velib_replay_kafka_up"] == 1 and seen["velib_replay_backlog_snapshots"] == 0
    assert seen["velib_replay_seconds_since_new_snapshot"] > 1.5
    events = live.events()  # every stderr line parses as JSON
    statuses = [event for event in events if event.get("event") == "status"]
    assert statuses[-1]["snapshots"] == SNAPSHOTS and statuses[-1]["published"] == SNAPSHOTS
    assert statuses[-1]["messages"] == SNAPSHOTS * STATIONS and statuses[-1]["polls"] == len(statuses)
    assert any(event.get("event") == "warning" and "gap" in event["message"] for event in events)
    assert f"published {SNAPSHOTS} snapshots ({SNAPSHOTS * STATIONS} messages)" in summary
