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
            result.verdict if result.passed else result.verdict.upper(),
            f"{result.seconds:.1f}",
        ]
        for result in results
    ]


def write_junit(results: list[Result], path: Path) -> None:
    """One <testcase> per scenario; a failed one carries its problems as the <failure> text, one that could not
    run its reason as the <error>."""
    suite = ET.Element(
        "testsuite",
        name="velib-replay scenarios",
        tests=str(len(results)),
        failures=str(sum(result.verdict == "fail" for result in results)),
        errors=str(sum(result.verdict == "error" for result in results)),
        time=f"{sum(result.seconds for result in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=result.name, time=f"{result.seconds:.3f}")
        if result.error:
            ET.SubElement(case, "error", message=result.error).text = result.error
        elif not result.passed:
            failure = ET.SubElement(case, "failure", message=result.problems[0].splitlines()[0])
            failure.text = "\n".join(result.problems)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
