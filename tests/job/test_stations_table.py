"""The station table loader refuses what it cannot read as meant, instead of sending every station to unknown."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from velib_replay import config
from velib_replay.cli import main
from velib_replay.errors import UserError
from velib_replay.job.stations_table import load_postcodes

HEADER = "stationCode,station_id,postcode,city\n"


def table(tmp_path: Path, content: str | bytes, name: str = "stations.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def refusal(path: Path) -> str:
    with pytest.raises(UserError) as raised:
        load_postcodes(path)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message
    return message


def test_the_real_table_still_loads():
    postcodes = load_postcodes(config.stations_table())
    assert len(postcodes) == 1462 - 2  # two stations have an empty postcode and are left out
    assert postcodes["16107"] == "75016"


def test_a_utf8_bom_is_accepted(tmp_path):
    path = table(tmp_path, ("\ufeff" + HEADER + "16107,213688169,75016,Paris\n").encode("utf-8"))
    assert load_postcodes(path) == {"16107": "75016"}


def test_exact_duplicates_blank_lines_and_empty_postcodes_are_fine(tmp_path):
    rows = "16107,1,75016,Paris\n\n16107,1,75016,Paris\n9020,2,,Paris\n"
    assert load_postcodes(table(tmp_path, HEADER + rows)) == {"16107": "75016"}


def test_a_header_without_the_required_columns_names_the_columns_found(tmp_path):
    message = refusal(table(tmp_path, "code,station_id,zip,city\n16107,1,75016,Paris\n"))
    assert "no stationCode, postcode column" in message
    assert "found code, station_id, zip, city" in message


def test_an_empty_file_is_an_error(tmp_path):
    assert "is empty" in refusal(table(tmp_path, ""))
    assert "is empty" in refusal(table(tmp_path, "\n\n", name="blank.csv"))


def test_a_semicolon_separated_file_names_the_delimiter_and_line(tmp_path):
    message = refusal(table(tmp_path, "stationCode;station_id;postcode;city\n16107;1;75016;Paris\n"))
    assert "line 1: columns are separated by ';'" in message


def test_a_row_with_another_delimiter_names_its_line(tmp_path):
    message = refusal(table(tmp_path, HEADER + "16107,1,75016,Paris\n9020;2;75009;Paris\n"))
    assert "line 3: 1 field(s) where the header has 4" in message


def test_latin1_bytes_name_the_line(tmp_path):
    content = (HEADER + "16107,1,75016,Paris\n9020,2,75009,Créteil\n").encode("latin-1")
    message = refusal(table(tmp_path, content))
    assert "line 3: byte 0xe9 is not UTF-8" in message


def test_one_code_with_two_postcodes_lists_the_conflicts(tmp_path):
    rows = "16107,1,75016,Paris\n9020,2,75009,Paris\n16107,1,75015,Paris\n9020,2,75009,Paris\n44015,3,94400,V\n"
    message = refusal(table(tmp_path, HEADER + rows + "44015,3,,V\n"))
    assert "different postcodes to the same stationCode: 16107: '75015' / '75016'; 44015: '' / '94400'" in message


def test_an_empty_station_code_names_its_line(tmp_path):
    assert "line 2: empty stationCode" in refusal(table(tmp_path, HEADER + ",1,75016,Paris\n"))


def test_process_refuses_a_bad_table_in_one_line_before_starting_spark(tmp_path):
    path = table(tmp_path, "code,station_id,zip,city\n16107,1,75016,Paris\n")
    args = ["process", "--once", "--stations-table", str(path), "--checkpoint", str(tmp_path / "cp")]
    result = CliRunner().invoke(main, [*args, "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 1, result.output
    assert (
        result.output == f"Error: stations table {path} has no stationCode, postcode column: it needs "
        "'stationCode' and 'postcode' columns, found code, station_id, zip, city\n"
    )
    assert not (tmp_path / "cp").exists()
