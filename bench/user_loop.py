"""The edit-test loop of a user's own pipeline: the docs' example test (docs/testing.md), cold (no test
environment: pytest starts its broker and SparkSession) and warm (``velib-replay testenv`` up), with the seconds of
each phase. One command, one table: ``python bench/user_loop.py``.

The test is taken from the docs page itself, in a project of its own in a temporary folder (its test file and the
stations CSV it reads), and run as a user runs it: ``pytest`` in a process of its own (without the pytest plugins
of velib-replay's own test extra, which a user does not have). This file is also the
pytest plugin (``-p user_loop``) that times the phases inside that process:

- pytest start: from launching pytest to the test collected (interpreter, imports, plugins, collection);
- attach: the test's setup (the session's broker and Spark: started cold, attached warm; fresh topics);
- play, job, golden: inside the test, the replay, the user's job, reading the output and comparing it;
- exit: teardown (cold: stopping Spark and the broker) and leaving pytest.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PHASES_ENV = "VELIB_BENCH_PHASES"
PHASES = ("pytest start", "attach", "play", "job", "golden", "exit")
LOAD_CONCLUSIVE = 3.0
# pytest plugins of velib-replay's own test extra, which a user's project does not have: hypothesis's alone
# imports hypothesis at the end of every run (0.5 s on a quiet machine, 7 s at load 25)
NOT_A_USERS = ("-p", "no:hypothesispytest", "-p", "no:pytest_httpserver")
_timings: dict[str, float] = {}


# ---- the plugin side: runs inside the measured pytest --------------------------------------------------------


def pytest_configure(config) -> None:
    """Time the plugin's replay, read-back and golden comparison where the fixtures call them."""
    from velib_replay.testing import plugin

    plugin.replay_delivered = _timed(plugin.replay_delivered, "play")
    plugin.read_latest = _timed(plugin.read_latest, "golden")
    plugin.check_golden = _timed(plugin.check_golden, "golden")


def pytest_collection_finish(session) -> None:
    _timings["collected_at"] = time.time()


def pytest_runtest_setup(item) -> None:
    _timings["setup_from"] = time.monotonic()


def pytest_runtest_call(item) -> None:
    _timings["attach"] = time.monotonic() - _timings.pop("setup_from")
    _timings["call_from"] = time.monotonic()


def pytest_runtest_teardown(item) -> None:
    call = time.monotonic() - _timings.pop("call_from")
    _timings["job"] = call - _timings.get("play", 0.0) - _timings.get("golden", 0.0)


def pytest_unconfigure(config) -> None:
    Path(os.environ[PHASES_ENV]).write_text(json.dumps(_timings))


def _timed(function: Callable, phase: str) -> Callable:
    def timed(*args, **kwargs):
        start = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            _timings[phase] = _timings.get(phase, 0.0) + time.monotonic() - start

    return timed


# ---- the benchmark side -------------------------------------------------------------------------------------


def docs_test(page: Path) -> str:
    """The first Python block of docs/testing.md ("Testing your own pipeline"): the very test users are shown."""
    return re.search(r"```python\n(.*?)```", page.read_text(), re.S).group(1)


def make_project(folder: Path) -> Path:
    from velib_replay import config

    project = folder / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_bikes.py").write_text(docs_test(config.project_root() / "docs" / "testing.md"))
    shutil.copy(config.stations_table(), project / "stations_information.csv")
    return project


def run_pytest(project: Path, env: dict[str, str], *args: str, servers: tuple[int, ...] = ()) -> dict[str, float]:
    """One pytest run of the project: its wall seconds, its phases, the 1-minute load average after it, and, warm,
    the CPU seconds it cost (pytest's process and what it waited for, plus the test environment's ``servers``
    trees): on a busy machine the wall time mostly waits for a core, the CPU seconds do not."""
    phases_file = project / "phases.json"
    environ = env | {PHASES_ENV: str(phases_file), "PYTHONPATH": str(Path(__file__).parent)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NOT_A_USERS, "-p", "user_loop", *args]
    cpu_before = _children_cpu() + sum(tree_cpu(pid) for pid in servers)
    launched, start = time.time(), time.monotonic()
    result = subprocess.run(command, cwd=project, env=environ, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    cpu = _children_cpu() + sum(tree_cpu(pid) for pid in servers) - cpu_before
    if result.returncode != 0:
        sys.exit(f"pytest failed (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    timings = json.loads(phases_file.read_text())
    phases = {
        "wall": wall,
        "pytest start": timings["collected_at"] - launched,
        **{phase: timings.get(phase, 0.0) for phase in ("attach", "play", "job", "golden")},
    }
    phases["exit"] = wall - sum(phases[phase] for phase in PHASES[:-1])
    phases["load"] = os.getloadavg()[0]
    if servers:  # cold, Spark's JVM is not a process pytest waits for: its CPU would go uncounted
        phases["cpu"] = cpu
    return phases


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants, those already reaped included (/proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split() if entry.name.isdigit() else None
        except OSError:
            continue
        if fields:
            stats[int(entry.name)] = fields
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            total += sum(int(value) for value in stats[current][11:15])  # utime stime cutime cstime
        todo.extend(parents.get(current, []))
    return total / ticks


def testenv(project: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    """``velib-replay testenv ARGS`` in the project's folder: (seconds, what it printed)."""
    start = time.monotonic()
    command = [sys.executable, "-m", "velib_replay", "testenv", *args]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"testenv {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return time.monotonic() - start, result.stdout


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # progress on stderr, the table on stdout


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="velib-user-loop-") as folder:
        project = make_project(Path(folder))
        env = os.environ | {"VELIB_REPLAY_TESTENV_DIR": str(Path(folder) / "testenv")}
        runs: list[tuple[str, dict[str, float]]] = []
        say("cold: no test environment")
        runs.append(("cold, first (--velib-update-golden)", run_pytest(project, env, "--velib-update-golden")))
        runs.append(("cold, rerun", run_pytest(project, env)))
        say("testenv start")
        try:
            start_s, _ = testenv(project, env, "start")
            servers = tuple(part["pid"] for part in json.loads(testenv(project, env, "status", "--json")[1])["parts"])
            say("warm: attached")
            runs.append(("warm, first after start", run_pytest(project, env, servers=servers)))
            runs.append(("warm, rerun", run_pytest(project, env, servers=servers)))
            memory = json.loads(testenv(project, env, "status", "--json")[1])["parts"]
        finally:
            say(testenv(project, env, "stop")[1].rstrip())
    print_table(runs, start_s, memory)


def print_table(runs: list[tuple[str, dict[str, float]]], start_s: float, memory: list[dict]) -> None:
    import harness  # here, not at the top: the measured pytest loads this file as its plugin

    headers = ["run", "wall s", *(f"{phase} s" for phase in PHASES), "CPU s (warm)", "load (1 min)"]
    rows = [
        [name, *(f"{run[key]:.1f}" if key in run else "-" for key in ("wall", *PHASES, "cpu", "load"))]
        for name, run in runs
    ]
    harness.print_table("The docs' example test: cold (no test environment) and warm (testenv up)", rows, headers)
    held = ", ".join(f"{part['name']} {part['rss_bytes'] / 2**20:,.0f} MiB" for part in memory)
    print(f"testenv start: {start_s:.1f} s, paid once; resident after the runs: {held}.")
    print(f"{harness.machine_load()} at the end.")
    busiest = max(run["load"] for _, run in runs)
    if busiest > LOAD_CONCLUSIVE:
        print(f"Load average reached {busiest:.1f} (> {LOAD_CONCLUSIVE:.0f}): the machine was busy, these numbers are")
        print("not conclusive; rerun when it is quieter.")


if __name__ == "__main__":
    main()
