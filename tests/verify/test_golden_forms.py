"""Self-describing golden files: a header line names the form and key fields, any form converts to the keys the
compared side has, and files written before the header are read as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from kafka import KafkaProducer

from velib_replay.cli import main
from velib_replay.errors import UserError
from velib_replay.testing.golden import check_golden
from velib_replay.verify.golden import read_golden, write_golden

ROWS = {
    "t1|75001": {"snapshot_time": "t1", "postcode": "75001", "bikes_available": 3},
    "t1|75002": {"snapshot_time": "t1", "postcode": "75002", "bikes_available": 5},
}
BY_POSTCODE = {row["postcode"]: row for row in ROWS.values()}


def test_a_written_file_starts_with_its_form_and_stays_one_json_object_a_line(tmp_path):
    rows, entries = tmp_path / "rows.jsonl", tmp_path / "entries.jsonl"
    write_golden(rows, ROWS, ("snapshot_time", "postcode"))
    write_golden(entries, ROWS, None)
    lines = [json.loads(line) for line in rows.read_text().splitlines()]
    assert lines[0] == {"velib_golden": 1, "form": "rows", "key_fields": ["snapshot_time", "postcode"]}
    assert lines[1:] == list(ROWS.values())
    assert json.loads(entries.read_text().splitlines()[0]) == {"velib_golden": 1, "form": "entries", "key_fields": None}


@pytest.mark.parametrize("form", [("snapshot_time", "postcode"), None], ids=["rows", "entries"])
def test_either_form_reads_keyed_by_its_own_keys_or_converted_to_the_fields_asked(tmp_path, form):
    golden = tmp_path / "golden.jsonl"
    write_golden(golden, ROWS, form)
    assert read_golden(golden) == ROWS  # the file's own keys, told nothing
    assert read_golden(golden, ("postcode",)) == BY_POSTCODE
    assert read_golden(golden, ("snapshot_time", "postcode")) == ROWS


def test_files_without_a_header_are_read_as_before(tmp_path):
    legacy_rows = SAMPLE / "indicators.golden.jsonl"
    assert not legacy_rows.read_text().startswith('{"velib_golden"')
    assert all(key.count("|") == 1 for key in read_golden(legacy_rows))  # snapshot_time|postcode, the default
    legacy_entries = tmp_path / "entries.jsonl"
    legacy_entries.write_text("".join(json.dumps({"key": k, "value": v}) + "\n" for k, v in BY_POSTCODE.items()))
    assert read_golden(legacy_entries) == BY_POSTCODE
    assert read_golden(legacy_entries, ("snapshot_time", "postcode")) == ROWS
    headless_rows = tmp_path / "rows.jsonl"
    headless_rows.write_text("".join(json.dumps(row) + "\n" for row in ROWS.values()))
    with pytest.raises(UserError, match=r"line 1: rows without a header naming their key fields: give the key"):
        read_golden(headless_rows, default_fields=None)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ({"velib_golden": 2, "form": "rows", "key_fields": []}, "line 1: not a golden header this version reads"),
        ({"velib_golden": 1, "form": "rows", "key_fields": None}, 'line 1: header: "form" is "entries"'),
        ({"velib_golden": 1, "form": "entries", "key_fields": ["a"]}, 'line 1: header: "form" is "entries"'),
    ],
)
def test_a_bad_header_is_refused_naming_the_line(tmp_path, header, problem):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(json.dumps(header) + "\n")
    with pytest.raises(UserError, match=problem):
        read_golden(golden)


def test_a_conversion_that_makes_two_rows_one_key_is_refused(tmp_path):
    golden = tmp_path / "golden.jsonl"
    write_golden(golden, ROWS, None)
    with pytest.raises(UserError, match=r"line 3: a second row for t1 \(first on line 2\)"):
        read_golden(golden, ("snapshot_time",))


# ------------------------------------------------------------------ the plugin and verify, on the real broker
def _produce(bootstrap: str, topic: str, rows: dict[str, dict], *, keyed: bool) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    sent = [
        producer.send(topic, key=key.encode() if keyed else None, value=json.dumps(row).encode())
        for key, row in rows.items()
    ]
    for future in sent:
        future.get(timeout=60)
    producer.close()


def _verify(bootstrap: str, golden: Path, topic: str, *args: str):
    done = CliRunner().invoke(
        main, ["verify", "--golden", str(golden), "--topic", topic, "--bootstrap-servers", bootstrap, *args]
    )
    return done.exit_code, done.output


@pytest.mark.integration
def test_a_golden_of_the_plugin_passes_verify_with_and_without_key_fields_and_the_reverse(
    velib_kafka, velib_topics, velib_latest, tmp_path
):
    topic = velib_topics.indicators
    _produce(velib_kafka, topic, ROWS, keyed=True)  # keyed as velib-replay's job keys its rows
    fields = "snapshot_time,postcode"

    from_plugin = tmp_path / "plugin.jsonl"
    check_golden(from_plugin, velib_latest(topic), update=True)  # what velib_golden writes with --velib-update-golden
    assert _verify(velib_kafka, from_plugin, topic)[0] == 0
    assert _verify(velib_kafka, from_plugin, topic, "--key-fields", fields)[0] == 0

    from_verify = tmp_path / "verify.jsonl"
    assert _verify(velib_kafka, from_verify, topic, "--key-fields", fields, "--update")[0] == 0
    assert check_golden(from_verify, velib_latest(topic)).startswith("2 rows equal")
    assert check_golden(from_verify, list(velib_latest(topic).values()), key=fields.split(",")).startswith("2 rows")
    assert _verify(velib_kafka, from_verify, topic)[0] == 0

    changed = {**ROWS, "t1|75002": {**ROWS["t1|75002"], "bikes_available": 6}}
    _produce(velib_kafka, topic, changed, keyed=True)
    for golden in (from_plugin, from_verify):
        for args in ((), ("--key-fields", fields)):
            code, output = _verify(velib_kafka, golden, topic, *args)
            assert code == 1 and "bikes_available: expected 5, got 6" in output, output


@pytest.mark.integration
def test_the_original_consumers_unkeyed_rows_golden_reads_from_either_side(
    velib_kafka, velib_topics, velib_latest, tmp_path
):
    topic = velib_topics.status  # a plain topic, as the original consumer writes to (the indicators one is compacted)
    _produce(velib_kafka, topic, BY_POSTCODE, keyed=False)
    from_plugin = tmp_path / "plugin.jsonl"
    check_golden(from_plugin, velib_latest(topic, key="postcode"), update=True)  # a mapping: entries
    assert _verify(velib_kafka, from_plugin, topic, "--key-fields", "postcode")[0] == 0
    from_verify = tmp_path / "verify.jsonl"
    assert _verify(velib_kafka, from_verify, topic, "--key-fields", "postcode", "--update")[0] == 0
    assert check_golden(from_verify, list(BY_POSTCODE.values()), key="postcode").startswith("2 rows equal")
    assert check_golden(from_verify, velib_latest(topic, key="postcode")).startswith("2 rows equal")
