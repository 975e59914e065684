"""The matrix as table cells and notes (the CLI lays them out), as JSON, and as JUnit XML (a test case per fault)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from xml.etree import ElementTree

from velib_replay.robustness.matrix import CHANGED, FAILED, SENSITIVE, SKIPPED, STOPPED, Matrix, Row

HEADER = ("fault", "expected", "faulted", "keys changed", "largest change per field", "verdict")
BAD = {SENSITIVE, FAILED, STOPPED}  # what fails a JUnit test case (a lossy fault may change the output)


def rows(matrix: Matrix) -> list[tuple[str, ...]]:
    """The table's cells, one row per fault, under ``HEADER``."""
    return [_cells(row) for row in matrix]


def notes(matrix: Matrix) -> list[str]:
    """Below the table: each row's cause (a failure, or what the evidence points to), then where the time went."""
    return [f"{row.fault}: {row.cause}" for row in matrix if row.cause] + [timing(matrix)]


def _cells(row: Row) -> tuple[str, ...]:
    changes = ", ".join(f"{name} {change:+g}" for name, change in row.largest.items()) or "-"
    faulted = "-" if row.faulted is None else str(row.faulted)
    expected = "same output" if row.invariant else "may lose data"
    return (row.fault, expected, faulted, f"{row.keys_changed}/{row.keys_total}", changes, row.verdict)


def timing(matrix: Matrix) -> str:
    """``took 312 s: baseline 25 s; per fault replay 2.1 s, job 24.0 s, compare 0.4 s (mean)``."""
    runs = list(matrix)
    mean = {
        phase: sum(row.seconds[phase] for row in runs) / len(runs) if runs else 0.0
        for phase in ("replay", "job", "compare")
    }
    per_fault = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in mean.items())
    baseline = sum(matrix.baseline_seconds.values())
    return f"took {matrix.seconds:.0f} s: baseline {baseline:.0f} s; per fault (mean) {per_fault}"


def write_json(matrix: Matrix, path: Path) -> None:
    document = {
        "baseline_keys": matrix.baseline_keys,
        "baseline_seconds": matrix.baseline_seconds,
        "seconds": matrix.seconds,
        "rows": [asdict(row) for row in matrix],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_junit(matrix: Matrix, path: Path, job: str) -> None:
    """A test case per fault: an invariant fault that changed the output, or any failed or silent run, fails."""
    bad = [row for row in matrix if row.verdict in BAD]
    suite = ElementTree.Element(
        "testsuite",
        name=f"robustness {job}",
        tests=str(len(matrix)),
        failures=str(len(bad)),
        skipped=str(sum(row.verdict == SKIPPED for row in matrix)),
        time=f"{matrix.seconds:.1f}",
    )
    for row in matrix:
        case = ElementTree.SubElement(
            suite, "testcase", classname="robustness", name=row.fault, time=f"{sum(row.seconds.values()):.1f}"
        )
        if row.verdict in BAD:
            ElementTree.SubElement(case, "failure", message=f"{row.verdict}: {row.cause}").text = " ".join(_cells(row))
        elif row.verdict == SKIPPED:
            ElementTree.SubElement(case, "skipped", message=row.cause or "")
        elif row.verdict == CHANGED:
            ElementTree.SubElement(case, "system-out").text = f"{row.verdict}: {row.cause}"
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
