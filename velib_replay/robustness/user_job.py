"""A user's job, ``path/file.py:function`` (or ``package.module:function``), with the plugin's signature
``function(spark, bootstrap, source, output, checkpoint)``, run until it has processed what the source holds.

A job may block until its query ends (``trigger(availableNow=True)`` and ``awaitTermination``, as
docs/testing.md shows) or return with its query running (the original consumer's ``start``):
a job that takes ``available_now`` gets ``True``, and any query it leaves running is run to the end of its
input, then stopped. Any failure, Python's or Spark's, comes back as one line whose cause comes first.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from velib_replay.errors import UserError

Job = Callable[..., Any]
FIRST_BATCH_WAIT_S = 300.0  # how long a restart waits for the job's first micro-batch


def load_job(spec: str) -> Job:
    """``path/file.py:function`` or ``module:function`` → the function; a UserError saying what is wrong."""
    where, _, name = spec.rpartition(":")
    if not where or not name.isidentifier():
        raise UserError(f"job {spec!r}: give it as path/to/file.py:function (or package.module:function)")
    module = _module_from_file(Path(where)) if where.endswith(".py") else _module(where)
    job = getattr(module, name, None)
    if not callable(job):
        raise UserError(f"job {spec!r}: {where} has no function {name}")
    return job


def _module_from_file(path: Path) -> Any:
    """The file imported as a module of its own name, its folder on sys.path (a job imports its neighbours)."""
    if not path.is_file():
        raise UserError(f"job file {path} does not exist")
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise UserError(f"cannot import job file {path}: {type(error).__name__}: {error}") from None
    return module


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as error:
        raise UserError(f"cannot import job module {name}: {type(error).__name__}: {error}") from None


def run_to_end(spark, job: Job, bootstrap: str, source: str, output: str, checkpoint: Path) -> str | None:
    """Run ``job`` over what ``source`` holds, to the end; None, or why it failed in one line."""
    before = _active_ids(spark)
    try:
        returned = _call(spark, job, bootstrap, source, output, checkpoint)
        for query in _queries(spark, before, returned):
            query.processAllAvailable()  # returns at once for a query that has ended (availableNow)
            query.stop()
            if query.exception() is not None:
                return failure_line(query.exception())
    except Exception as error:
        return failure_line(error)
    return None


def at_first_batch(
    spark, job: Job, bootstrap: str, source: str, output: str, checkpoint: Path, action: Callable[[list], None]
) -> tuple[str | None, bool]:
    """Run ``job`` to the end as ``run_to_end`` does, but call ``action`` with its queries as soon as their first
    micro-batch is planned (its offsets in the checkpoint): mid-batch or just after it. Stopping the queries there
    is a kill mid-stream; restarting the broker there is a restart under a reading job. Returns None or why the
    job failed, and whether it was still running when ``action`` came (a quick job may have ended already)."""
    before = _active_ids(spark)
    outcome: list[str | None] = []
    runner = threading.Thread(
        target=lambda: outcome.append(run_to_end(spark, job, bootstrap, source, output, checkpoint)),
        name="job-under-fault",
        daemon=True,
    )
    runner.start()
    deadline = time.monotonic() + FIRST_BATCH_WAIT_S
    while not any(checkpoint.glob("**/offsets/[0-9]*")) and runner.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    running = runner.is_alive()
    action(_queries(spark, before, None))
    runner.join()
    return (outcome[0] if outcome else "the job ended without a result"), running


def _call(spark, job: Job, bootstrap: str, source: str, output: str, checkpoint: Path) -> Any:
    extra = {"available_now": True} if "available_now" in _parameters(job) else {}
    return job(spark, bootstrap, source, output, checkpoint, **extra)


def _parameters(job: Job) -> set[str]:
    try:
        return set(inspect.signature(job).parameters)
    except (TypeError, ValueError):
        return set()


def _active_ids(spark) -> set[str]:
    return {query.id for query in spark.streams.active}


def _queries(spark, before: set[str], returned: Any) -> list:
    """The queries the job started and left running, the one it returned included."""
    queries = [query for query in spark.streams.active if query.id not in before]
    if hasattr(returned, "processAllAvailable") and all(query.id != returned.id for query in queries):
        queries.append(returned)
    return queries


def failure_line(error: BaseException) -> str:
    """The innermost cause of a failure first, in one line: what a poison message or a bug in the job did."""
    java = getattr(error, "java_exception", None)
    if java is None:
        return _first_line(f"{type(error).__name__}: {error}")
    while java.getCause() is not None and java.getCause() != java:
        java = java.getCause()
    return _first_line(str(java.toString()))


def _first_line(text: str, limit: int = 300) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), text.strip())
    return line if len(line) <= limit else line[: limit - 1] + "…"
