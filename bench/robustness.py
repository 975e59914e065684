"""The robustness matrix on the sample: how long the whole matrix takes, and how each run spends it.

Every run pays a job start; what can be reused is (one broker, one SparkSession for all runs, fresh topics and
checkpoints per fault). For each job: the baseline, then every fault; per fault, seconds in the replay, the
job (its start included) and the comparison. Jobs: velib-replay's own (its entry point) and, with
``--original``, the original consumer of examples/original-pipeline (keyed by postcode).

    python bench/robustness.py [--quick] [--original]     # --quick: 8 stations, not all
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from harness import machine_load, print_table, say
from harness import main as bench_main

from velib_replay import config
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import Recording
from velib_replay.robustness.matrix import Setting, own_stack, run_matrix
from velib_replay.robustness.report import HEADER, notes, rows
from velib_replay.robustness.user_job import load_job

ROOT = Path(__file__).resolve().parent.parent
QUICK_STATIONS = frozenset(["16107", "9020", "14111", "40001", "11025", "18008", "32017", "11104"])
JOBS = {  # name → (job, key fields of its unkeyed output)
    "own job": ("velib_replay.job.entry:job", None),
    "original consumer": (f"{ROOT / 'examples/original-pipeline/job.py'}:start", ("postcode",)),
}


def run(quick: bool, bootstrap: str | None, original: bool) -> None:
    if bootstrap:
        say("the broker-restart fault restarts an embedded broker: this benchmark always starts its own")
    recording = Recording(config.sample_recording())
    wanted = QUICK_STATIONS if quick else None
    with tempfile.TemporaryDirectory(prefix="velib-bench-") as folder, own_stack(Path(folder), "local[2]") as stack:
        spark, broker = stack
        for name, (spec, key) in JOBS.items():
            if name == "original consumer" and not original:
                continue
            started = time.monotonic()
            setting = Setting(spark, KafkaTarget(broker.bootstrap_servers), Path(folder) / name, broker, key, 0, wanted)
            matrix = run_matrix(load_job(spec), recording, setting, on_row=lambda row: say(f"  {row.fault}"))
            print_table(f"{name}: {spec.rpartition('/')[2]} ({machine_load()})", rows(matrix), HEADER)
            print("\n".join(notes(matrix)))
            timing = [
                (row.fault, *(f"{row.seconds[phase]:.1f}" for phase in ("replay", "job", "compare"))) for row in matrix
            ]
            baseline = [("baseline", *(f"{matrix.baseline_seconds[p]:.1f}" for p in ("replay", "job", "compare")))]
            print_table(f"{name}: seconds per run", baseline + timing, ("run", "replay", "job", "compare"))
            say(f"{name}: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    bench_main(run, __doc__.splitlines()[0], original="also the original consumer (examples/original-pipeline)")
