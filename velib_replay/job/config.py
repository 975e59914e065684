"""What a run of the job reads and writes, and what it reports: plain data, no Spark needed to build it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from velib_replay import config
from velib_replay.contracts.indicators import MAX_FUTURE_S
from velib_replay.kafka.client_config import KafkaTarget

QUERY_NAME = "job"  # the streaming query's name (metrics label) and its checkpoint folder
OUTPUT_COUNTS = "output_rows"  # the query's observed metrics: rows written per output, in each batch's progress


@dataclass
class JobConfig:
    """Everything the job reads and writes, explicit so a run is reproducible from its config."""

    kafka: KafkaTarget = field(default_factory=KafkaTarget)  # its settings are secrets: never in the repr
    status_topic: str = config.STATUS_TOPIC
    indicators_topic: str = config.INDICATORS_TOPIC
    quarantine_topic: str = config.QUARANTINE_TOPIC
    checkpoint: Path = field(default_factory=config.checkpoint_dir)
    stations_table: Path = field(default_factory=config.stations_table)
    watermark: str = config.WATERMARK
    max_future: float = MAX_FUTURE_S  # seconds past the wall clock a snapshot_time may be before it is set aside
    trigger_interval: str = config.TRIGGER_INTERVAL
    max_offsets_per_trigger: int | None = None
    show_rows: int = 20
    progress_every_s: float = config.BATCH_PROGRESS_EVERY_S  # a long batch's "still running" line, this often


@dataclass
class JobSummary:
    batches: int = 0
    input_rows: int = 0
    indicator_rows: int = 0
    quarantined: int = 0
    dropped_late: int = 0
    state_rows: int = 0  # rows held in the dedup and aggregation state after the last batch
