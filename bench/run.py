"""Every benchmark in one command, on one embedded broker: throughput, pacing, the full day, storage.

python bench/run.py [--quick] [--bootstrap-servers HOST:PORT] [--workloads] [--cluster]
"""

from __future__ import annotations

import cluster as cluster_bench
import full_day
import pacing as pacing_bench
import storage
import throughput
import workloads as workloads_bench
from harness import main, say, workspace


def run(quick: bool, bootstrap: str | None, workloads: bool = False, cluster: bool = False) -> None:
    benches = (throughput.run, pacing_bench.run, full_day.run_bench, storage.run)
    optional = ((workloads_bench.run,) if workloads else ()) + ((cluster_bench.run_bench,) if cluster else ())
    with workspace(bootstrap) as (_folder, servers):
        for bench in benches + optional:
            say(f"== {bench.__module__}")
            bench(quick, servers)


if __name__ == "__main__":
    main(
        run,
        __doc__.splitlines()[0],
        workloads="also the week and ten-times-the-network workloads (an hour or more)",
        cluster="also local[2] against a standalone cluster (bench/cluster.py)",
    )
