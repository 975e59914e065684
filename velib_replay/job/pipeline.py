"""A fresh pipeline: topics of its own, created on the broker, and the ``JobConfig`` over them.

One helper for every caller that needs a pipeline nobody else writes to: the pytest plugin's ``velib_topics``,
each scenario, the demo, the tests and ``bench/``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from velib_replay.job.config import JobConfig
from velib_replay.kafka import topics
from velib_replay.kafka.client_config import KafkaTarget


@dataclass(frozen=True)
class PipelineTopics:
    """The three topics of a pipeline run: station messages in, indicators out (plain: keyed or unkeyed rows),
    messages set aside."""

    status: str
    indicators: str
    quarantine: str
    kafka: KafkaTarget = field(default_factory=KafkaTarget, repr=False, compare=False)

    def create(self, label: str, partitions: int = 1) -> str:
        """Another fresh topic for this run, ``<label>-<suffix>``: a job's own output (plain, not compacted)."""
        name = f"{label}-{self.status.removeprefix('status-')}"
        topics.ensure_topics(self.kafka, [topics.status_topic(name, partitions)])
        return name

    def ensure(self, partitions: int = 1) -> PipelineTopics:
        """Create the three on the broker, with ``partitions`` each (the quarantine keeps one), unless they exist."""
        specs = topics.pipeline_topics(self.status, self.indicators, self.quarantine, partitions=partitions)
        topics.ensure_topics(self.kafka, specs)
        return self

    def job_config(self, checkpoint: Path, **options: Any) -> JobConfig:
        """The job over these topics, with its own checkpoint; ``options`` are any other JobConfig fields
        (rows are not printed unless ``show_rows`` says so)."""
        return JobConfig(
            kafka=self.kafka,
            status_topic=self.status,
            indicators_topic=self.indicators,
            quarantine_topic=self.quarantine,
            checkpoint=checkpoint,
            **({"show_rows": 0} | options),
        )


def fresh_topics(kafka: KafkaTarget, partitions: int = 1) -> PipelineTopics:
    """New names (a random suffix), created with ``partitions`` each (the quarantine keeps one)."""
    suffix = uuid.uuid4().hex[:10]
    names = PipelineTopics(f"status-{suffix}", f"indicators-{suffix}", f"quarantine-{suffix}", kafka)
    return names.ensure(partitions)
