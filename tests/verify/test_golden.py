"""Golden files: written atomically, and a malformed one is a one-line error naming its file and line.

``verify`` reads the golden file before it contacts Kafka, so these CLI checks need no broker.
"""

from __future__ import annotations

import collections
import json
import random
import re

import pytest
from click.testing import CliRunner

from velib_replay import config
from velib_replay.cli import main
from velib_replay.errors import UserError
from velib_replay.kafka import broker
from velib_replay.verify.golden import read_golden, write_golden

ROW = {"snapshot_time": "2025-10-18T09:09:16Z", "postcode": "75001", "stations": 2, "bikes_available": 3}
LINE = json.dumps(ROW)
SAMPLE_GOLDEN = config.sample_recording() / "indicators.golden.jsonl"
FUZZ_CASES = 300


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ([LINE, "{not json"], "line 2: not JSON (Expecting property name enclosed in double quotes at column 2)"),
        ([LINE, "", "[1, 2]"], "line 3: not a JSON object"),
        (['{"snapshot_time": [1], "postcode": "75001"}'], "line 1: snapshot_time not a string or integer"),
        ([json.dumps({**ROW, "postcode": 75001.0})], "line 1: postcode not a string or integer"),
        ([LINE, LINE], "line 2: a second row for 2025-10-18T09:09:16Z|75001 (first on line 1)"),
        (
            ['{"snapshot_time": "t", "postcode": "a", "postcode": "b"}'],
            "line 1: field 'postcode' appears twice in this row",
        ),
    ],
)
def test_a_malformed_golden_file_is_one_line_naming_file_and_line(tmp_path, lines, problem):
    golden = tmp_path / "golden.jsonl"
    golden.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as caught:
        read_golden(golden)
    assert str(caught.value) == f"golden file {golden}, {problem}"
    result = _verify("--golden", str(golden))
    assert result.exit_code == 1
    assert result.output == f"Error: {caught.value}\n"


def test_a_golden_file_not_utf8_names_its_line(tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_bytes(LINE.encode() + b"\n" + b'{"postcode": "\xff"}\n')
    with pytest.raises(UserError, match=r"golden\.jsonl, line 2: byte 0x\w\w is not UTF-8"):
        read_golden(golden)


def test_a_missing_golden_file_says_how_to_create_it(tmp_path):
    result = _verify("--golden", str(tmp_path / "absent.jsonl"))
    assert result.exit_code == 1
    assert result.output.endswith("absent.jsonl does not exist (create it with --update)\n")


def test_golden_round_trip_keeps_separators_inside_values(tmp_path):
    rows = {"t|75001": ROW, "t|x": {**ROW, "postcode": "a\u2028b"}}
    golden = tmp_path / "golden.jsonl"
    write_golden(golden, rows)
    assert list(read_golden(golden).values()) == [ROW, rows["t|x"]]
    assert [path.name for path in tmp_path.iterdir()] == ["golden.jsonl"]  # no partial file left


def test_writing_into_a_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError, match=r"^cannot write golden file .*: No such file or directory$"):
        write_golden(tmp_path / "absent" / "golden.jsonl", {"k": ROW})


def _verify(*args: str):
    unreachable = f"localhost:{broker.free_port()}"
    return CliRunner().invoke(main, ["verify", *args, "--bootstrap-servers", unreachable])


def test_fuzzed_golden_files_parse_or_fail_with_a_line_number(tmp_path):
    """Random edits of a real golden file: each one reads, or is a UserError naming a line; nothing else."""
    lines = SAMPLE_GOLDEN.read_bytes().splitlines(keepends=True)[:30]
    golden = tmp_path / "fuzzed.jsonl"
    rng = random.Random(20251018)
    outcomes = collections.Counter()
    for _ in range(FUZZ_CASES):
        golden.write_bytes(_mutated(lines, rng))
        try:
            read_golden(golden)
            outcomes["read"] += 1
        except UserError as error:
            assert re.fullmatch(rf"golden file {re.escape(str(golden))}, line \d+: [^\n]+", str(error)), error
            outcomes["refused"] += 1
    assert outcomes["read"] > FUZZ_CASES / 10 and outcomes["refused"] > FUZZ_CASES / 10  # both paths exercised


def _mutated(lines: list[bytes], rng: random.Random) -> bytes:
    """Lines shuffled, repeated, blanked, or a few bytes inserted or deleted."""
    edited = rng.sample(lines, rng.randrange(len(lines) + 1))
    for _ in range(rng.randrange(3)):
        edit = rng.choice(("repeat", "blank", "insert", "delete"))
        if not edited:
            break
        where = rng.randrange(len(edited))
        line = edited[where]
        if edit == "repeat":
            edited.insert(where, line)
        elif edit == "blank":
            edited.insert(where, b" \n")
        elif edit == "insert":
            at = rng.randrange(len(line) + 1)
            edited[where] = line[:at] + bytes([rng.choice(b'{}[]",:\n\xff\x00 0a')]) + line[at:]
        else:
            at = rng.randrange(len(line))
            edited[where] = line[:at] + line[at + 1 :]
    return b"".join(edited)
