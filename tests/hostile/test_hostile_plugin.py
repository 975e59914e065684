"""Issue 28, item 9: the pytest plugin validates as the CLI does, with the CLI's own parsers.

Each case runs a user's test through pytest itself (pytester) and expects a one-line failure naming the
argument, where it used to crash with a raw error or pass on nothing.
"""

from __future__ import annotations

import pytest
from conftest import PLUGIN_INSTALLED, SAMPLE

pytest_plugins = ["pytester"]

PLUGIN = [] if PLUGIN_INSTALLED else ["-p", "velib_replay.testing.plugin"]


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=source)
    return pytester.runpytest_inprocess(*PLUGIN, *args)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("argument", "said"),
    [
        ("speed=0", "speed '0': must be a multiplier from 0.000001x up, or max"),
        ("speed='fast'", "speed 'fast': use a positive multiplier"),
        ("speed=-1", "speed '-1': must be a multiplier"),
        ("speed=float('nan')", "speed 'nan': must be a multiplier"),
        ("stations='nope'", "nothing was sent: --stations nope matches no station of the selected snapshots"),
        ("stations=[16107]", "stations=[16107]: give station codes as non-empty strings"),
    ],
)
def test_velib_play_refuses_what_play_refuses(pytester, velib_kafka, argument, said):
    source = f"def test_user(velib_play):\n    velib_play({str(SAMPLE)!r}, {argument})\n"
    result = run(pytester, source, "--velib-bootstrap", velib_kafka)
    result.assert_outcomes(failed=1)
    assert said in result.stdout.str()
    assert not any(word in result.stdout.str() for word in ("Traceback", "ZeroDivisionError", "During handling"))


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ('{"a": float("nan")}', "rows hold NaN or an infinite number, which JSON (and a golden file) cannot"),
        ('[{"k": "a", "v": float("inf")}], key="k"', "rows hold NaN or an infinite number"),
        ('{1: "one", "1": "uno"}', "two keys read '1' (int and str): one key in a golden file"),
        ('[{"k": "a"}], key=5', "key=5: give field names as strings"),
        ('[{"k": "a"}], key="k,,"', "key='k,,': key fields 'k,,': give field names separated by commas"),
    ],
)
def test_velib_golden_refuses_rows_it_cannot_keep_faithfully(pytester, rows, said):
    source = f"def test_user(velib_golden):\n    velib_golden('golden.jsonl', {rows})\n"
    result = run(pytester, source, "--velib-update-golden")
    result.assert_outcomes(failed=1)
    assert said in result.stdout.str()
    assert not (pytester.path / "golden.jsonl").exists()


def test_two_tests_writing_one_golden_file_fail_naming_both(pytester):
    source = (
        "def test_first(velib_golden):\n    velib_golden('shared.jsonl', {'a': 1})\n\n"
        "def test_second(velib_golden):\n    velib_golden('shared.jsonl', {'a': 2})\n"
    )
    result = run(pytester, source, "--velib-update-golden")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*shared.jsonl is written by two tests: test_user.py::test_first and *test_second*"])
