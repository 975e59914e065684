"""velib-replay's own job behind the plugin's job signature, ``function(spark, bootstrap, source, output,
checkpoint)``, so what runs users' jobs (``robustness``, their tests) runs this one the same way (the signature
carries the servers alone: a plaintext cluster):
``velib-replay robustness velib_replay.job.entry:job recordings/sample``."""

from __future__ import annotations

import io
from pathlib import Path

from velib_replay.job.config import JobConfig
from velib_replay.kafka.client_config import KafkaTarget


def job(spark, bootstrap: str, source: str, output: str, checkpoint: str | Path) -> None:
    """Once over what ``source`` holds: indicators to ``output`` (keyed), messages set aside to
    ``<output>-quarantine``; raises a UserError if the job fails."""
    from velib_replay.job.runner import run_once  # pyspark only when the job runs

    cfg = JobConfig(
        kafka=KafkaTarget(bootstrap),
        status_topic=source,
        indicators_topic=output,
        quarantine_topic=f"{output}-quarantine",
        checkpoint=Path(checkpoint),
        show_rows=0,
    )
    run_once(cfg, spark, out=io.StringIO())
