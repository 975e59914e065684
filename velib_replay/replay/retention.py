"""Whether the target topic keeps what ``play`` stamps with feed times, checked before anything is sent.

Records carry their snapshot time as Kafka timestamp by default (``--timestamps feed``). A topic made with the
broker's defaults keeps records 7 days: an older recording's records would all be deleted by the broker's next
retention check, minutes after a replay that reported them delivered. And the broker refuses records stamped
outside message.timestamp.before.max.ms / after.max.ms. ``play`` refuses such a replay up front, naming the
setting and the ways out, rather than lose or have refused what it sends.
"""

from __future__ import annotations

import time

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.contracts.feed import iso_utc
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.kafka.topics import FEED_TIME_CONFIGS, topic_config
from velib_replay.units import format_duration

RETENTION, BEFORE, AFTER = "retention.ms", "message.timestamp.before.max.ms", "message.timestamp.after.max.ms"
SETTINGS = ["cleanup.policy", RETENTION, BEFORE, AFTER]
KEEP_ALL = {RETENTION: FEED_TIME_CONFIGS[RETENTION], BEFORE: FEED_TIME_CONFIGS[AFTER], AFTER: FEED_TIME_CONFIGS[AFTER]}


def feed_time_problem(settings: dict[str, str], earliest: int, latest: int, now: float) -> tuple[str, str] | None:
    """(what the topic would do to the records, the setting that does it), or None when it keeps them all."""
    retention = int(settings.get(RETENTION, "-1"))
    if "delete" in settings.get("cleanup.policy", "delete") and 0 <= retention < (now - earliest) * 1000:
        kept = format_duration(retention / 1000)
        return (
            f"it keeps records {kept} ({RETENTION}={retention}), and this replay's feed times start at "
            f"{iso_utc(earliest)}: the broker would delete them at its next retention check",
            RETENTION,
        )
    before = int(settings.get(BEFORE, FEED_TIME_CONFIGS[AFTER]))
    if before < (now - earliest) * 1000:
        return (
            f"it refuses records stamped more than {format_duration(before / 1000)} before now ({BEFORE}={before}), "
            f"and this replay's feed times start at {iso_utc(earliest)}",
            BEFORE,
        )
    after = int(settings.get(AFTER, FEED_TIME_CONFIGS[AFTER]))
    if after < (latest - now) * 1000:
        return (
            f"it refuses records stamped more than {format_duration(after / 1000)} after now ({AFTER}={after}), "
            f"and this replay's feed times reach {iso_utc(latest)}",
            AFTER,
        )
    return None


def feed_time_refusal(
    kafka: KafkaTarget, topic: str, earliest: int, latest: int, timeout_ms: int = BOOTSTRAP_TIMEOUT_MS
) -> str | None:
    """Why ``topic`` would not keep records stamped from ``earliest`` to ``latest`` (epoch seconds), in one line
    naming the ways out; None when it would (or when it does not exist yet: ``play`` creates it keeping all)."""
    settings = topic_config(kafka, topic, SETTINGS, timeout_ms)
    problem = None if settings is None else feed_time_problem(settings, earliest, latest, time.time())
    if problem is None:
        return None
    what, setting = problem
    alter = (
        f"kafka-configs.sh --bootstrap-server {kafka.servers} --alter --entity-type topics "
        f"--entity-name {topic} --add-config {setting}={KEEP_ALL[setting]}"
    )
    return (
        f"topic {topic} would not keep this replay: {what}; nothing was sent. Play with --timestamps send (records "
        f"stamped when sent), to a topic made by `velib-replay topics`, or change the topic: {alter}"
    )
