"""How scenario results are shown: a table for people, JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from velib_replay.scenario.runner import Result

HEADERS = ["scenario", "messages", "faults", "verdict", "seconds"]


def rows(results: list[Result]) -> list[list[object]]:
    return [
        [
            result.name,
            result.messages,
            ", ".join(f"{kind} {count}" for kind, count in sorted(result.faults.items())) or "-",
            "pass" if result.passed else "FAIL",
            f"{result.seconds:.1f}",
        ]
        for result in results
    ]


def write_junit(results: list[Result], path: Path) -> None:
    """One <testcase> per scenario; a failed one carries its problems as the <failure> text."""
    suite = ET.Element(
        "testsuite",
        name="velib-replay scenarios",
        tests=str(len(results)),
        failures=str(sum(not result.passed for result in results)),
        time=f"{sum(result.seconds for result in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=result.name, time=f"{result.seconds:.3f}")
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=result.problems[0].splitlines()[0])
            failure.text = "\n".join(result.problems)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
