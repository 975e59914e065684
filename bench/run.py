"""Every benchmark in one command, on one embedded broker: throughput, pacing, the full day.

python bench/run.py [--quick] [--bootstrap-servers HOST:PORT] [--cluster]
"""

from __future__ import annotations

import cluster as cluster_bench
import full_day
import pacing as pacing_bench
import throughput
from harness import main, say, workspace


def run(quick: bool, bootstrap: str | None, cluster: bool = False) -> None:
    with workspace(bootstrap) as (_folder, servers):
        benches = [throughput.run, pacing_bench.run, full_day.run_bench]
        for bench in benches + ([cluster_bench.run_bench] if cluster else []):
            say(f"== {bench.__module__}")
            bench(quick, servers)


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0], {"--cluster": "also local[2] against a standalone cluster (bench/cluster.py)"})
