"""Keys from value fields: what a row written without a Kafka key is identified by."""

from __future__ import annotations

import pytest

from velib_replay.verify.keys import field_key, parse_key_fields


def test_strings_integers_and_an_explicit_null_make_a_key():
    assert field_key({"t": "09:00", "cp": 75001, "n": 3}, ("t", "cp")) == "09:00|75001"
    assert field_key({"cp": None}, ("cp",)) == "null"  # the null group of a group by


def test_an_absent_field_is_the_null_key_as_spark_to_json_drops_nulls():
    assert field_key({"n": 22}, ("cp",)) == field_key({"cp": None}, ("cp",)) == "null"
    assert field_key({"t": "09:00"}, ("t", "cp")) == "09:00|null"


@pytest.mark.parametrize("row", [{"cp": 1.5}, {"cp": True}, {"cp": [1]}, ["cp"]])
def test_a_field_of_another_type_is_refused(row):
    with pytest.raises(ValueError, match=r"^(cp not a string or integer|not a JSON object)$"):
        field_key(row, ("cp",))


def test_key_fields_parse_from_commas():
    assert parse_key_fields(" snapshot_time, postcode ") == ("snapshot_time", "postcode")
    with pytest.raises(ValueError, match="give field names separated by commas"):
        parse_key_fields("a,,b")
