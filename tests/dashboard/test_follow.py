"""What the dashboard pushes: the network series and latest rows, and how fresh they are."""

from __future__ import annotations

from velib_replay.contracts.indicators import snapshot_epoch
from velib_replay.dashboard.follow import freshness, view


def _row(time: str, postcode: str, bikes: int) -> dict:
    return {"snapshot_time": time, "postcode": postcode, "stations": 1, "bikes_available": bikes, "mechanical": bikes,
            "ebike": 0, "docks_available": 10 - bikes}  # fmt: skip


def test_view_has_the_network_series_and_the_latest_snapshot_per_postcode():
    rows = [_row("2025-10-18T09:12:00Z", "75001", 3), _row("2025-10-18T09:13:00Z", "75001", 4),
            _row("2025-10-18T09:13:00Z", "75002", 5)]  # fmt: skip
    state = view(rows, None)
    assert state["latest_time"] == "2025-10-18T09:13:00Z"
    assert state["times"] == ["2025-10-18T09:12:00Z", "2025-10-18T09:13:00Z"]
    assert state["totals"]["bikes_available"] == [3, 9] and state["totals"]["docks_available"] == [7, 11]
    assert sorted(state["postcodes"]) == ["75001", "75002"] and state["postcodes"]["75001"]["bikes_available"] == 4
    assert view([], "1 record unreadable")["latest_time"] is None


def test_freshness_says_age_lag_and_quiet():
    latest = "2025-10-18T09:13:00Z"
    epoch = snapshot_epoch(latest)
    fresh = freshness(latest, epoch + 120, quiet_s=5, quiet_after=60, now=epoch + 90)
    assert fresh == {"latest_time": latest, "age": "1m30s", "lag": "2m00s", "quiet": None}
    stale = freshness(latest, None, quiet_s=600, quiet_after=60, now=epoch + 3600)
    assert stale["quiet"] == "10m00s" and stale["lag"] is None and stale["age"] == "1h00m00s"
    assert freshness(None, None, quiet_s=0, quiet_after=60, now=epoch)["age"] is None
    assert freshness(latest, None, quiet_s=0, quiet_after=60, now=epoch + 400 * 86400 + 5)["age"] == "400 days"
