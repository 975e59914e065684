"""Issue 28, item 3: ``process``'s /healthz turns 503 as soon as its query is gone, not when the listener hears of it.

A query whose JVM is killed never reports its end to the listener; the health check asks the query itself.
"""

from __future__ import annotations

import pytest

from velib_replay.observe.health import verdict
from velib_replay.observe.job_metrics import JobObserver


@pytest.mark.integration
def test_health_turns_503_once_the_query_is_gone(velib_spark):
    observer = JobObserver("unused", lambda _topic: {})
    checks = observer.serving_health(max_lag=10).checks
    query = velib_spark.readStream.format("rate").load().writeStream.format("noop").start()
    observer.listener.query = query
    try:
        assert verdict(checks)[0] == 200
    finally:
        query.stop()
    assert verdict(checks) == (503, b'{"status": "unhealthy", "reason": "the query is not running"}\n')
