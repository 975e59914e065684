from velib_replay.verify.diff import compare, describe

ROW = {"snapshot_time": "t", "postcode": "75001", "stations": 2, "bikes_available": 3}


def test_equal_sets_compare_equal():
    assert compare({"t|75001": ROW}, {"t|75001": dict(ROW)}).equal


def test_missing_extra_and_changed_fields_are_named():
    expected = {"t|75001": ROW, "t|75002": {**ROW, "postcode": "75002"}}
    actual = {"t|75001": {**ROW, "bikes_available": 4}, "t|unknown": {**ROW, "postcode": "unknown"}}
    difference = compare(expected, actual)
    assert difference.missing == ["t|75002"] and difference.extra == ["t|unknown"]
    assert difference.changed == {"t|75001": {"bikes_available": (3, 4)}}
    text = describe(difference)
    assert "1 missing, 1 extra, 1 changed" in text
    assert "changed: t|75001: bikes_available: expected 3, got 4" in text


def test_long_diffs_are_cut():
    expected = {f"k{i}": ROW for i in range(30)}
    assert "and 25 more missing" in describe(compare(expected, {}), limit=5)
