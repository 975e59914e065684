"""Every benchmark in one command, on one embedded broker: throughput, pacing, the full day, storage.

python bench/run.py [--quick] [--bootstrap-servers HOST:PORT] [--workloads]
"""

from __future__ import annotations

import full_day
import pacing as pacing_bench
import storage
import throughput
import workloads as workloads_bench
from harness import main, say, workspace


def run(quick: bool, bootstrap: str | None, workloads: bool = False) -> None:
    benches = (throughput.run, pacing_bench.run, full_day.run_bench, storage.run)
    with workspace(bootstrap) as (_folder, servers):
        for bench in benches + ((workloads_bench.run,) if workloads else ()):
            say(f"== {bench.__module__}")
            bench(quick, servers)


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0], workloads="also the week and ten-times-the-network workloads (an hour or more)")
