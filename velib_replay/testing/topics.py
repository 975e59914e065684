"""Fresh, unique topic names per test, created on the broker, so tests never see each other's data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from velib_replay.kafka import topics


@dataclass(frozen=True)
class PipelineTopics:
    """The three topics of a pipeline run: station messages in, indicators out (plain: keyed or unkeyed rows),
    messages set aside."""

    status: str
    indicators: str
    quarantine: str
    bootstrap_servers: str = field(default="", repr=False, compare=False)

    def create(self, label: str, partitions: int = 1) -> str:
        """Another fresh topic for this test, ``<label>-<suffix>``: a job's own output (plain, not compacted)."""
        name = f"{label}-{self.status.removeprefix('status-')}"
        topics.ensure_topics(self.bootstrap_servers, [topics.status_topic(name, partitions)])
        return name


def fresh_topics(bootstrap_servers: str, partitions: int = 1) -> PipelineTopics:
    """New names (a random suffix), created with ``partitions`` each (the quarantine keeps one)."""
    suffix = uuid.uuid4().hex[:10]
    names = PipelineTopics(f"status-{suffix}", f"indicators-{suffix}", f"quarantine-{suffix}", bootstrap_servers)
    specs = topics.pipeline_topics(names.status, names.indicators, names.quarantine, partitions=partitions)
    topics.ensure_topics(bootstrap_servers, specs)
    return names
