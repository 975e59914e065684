"""Every benchmark in one command, on one embedded broker: throughput, pacing, the full day.

python bench/run.py [--quick] [--bootstrap-servers HOST:PORT]
"""

from __future__ import annotations

import full_day
import pacing as pacing_bench
import throughput
from harness import main, say, workspace


def run(quick: bool, bootstrap: str | None) -> None:
    with workspace(bootstrap) as (_folder, servers):
        for bench in (throughput.run, pacing_bench.run, full_day.run_bench):
            say(f"== {bench.__module__}")
            bench(quick, servers)


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
