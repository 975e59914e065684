"""``play --control``'s endpoint over real loopback HTTP, without a broker: what it answers, and its clear 400s."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from velib_replay.dashboard.control import forward
from velib_replay.kafka.broker import free_port
from velib_replay.replay.control import Control
from velib_replay.replay.control_server import ControlServer
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import plan_slots


@pytest.fixture
def endpoint(sample):
    server = ControlServer(Control(plan_slots(sample, ReplayPlan(speed=60.0)), 60.0)).start()
    yield server
    server.close()


def post(url: str, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url + path, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_status_before_anything_is_sent(endpoint):
    with urllib.request.urlopen(endpoint.url + "status", timeout=10) as answer:
        status = json.load(answer)
    assert status["speed"] == "60x" and not status["paused"] and status["snapshots_total"] == 11
    assert (status["feed_time"], status["next_feed_time"]) == (None, "2025-10-18T09:09:16Z")
    assert (status["first_feed_time"], status["last_feed_time"]) == ("2025-10-18T09:09:16Z", "2025-10-18T09:18:16Z")


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("speed", b'{"speed": "fast"}', "speed 'fast': use a positive multiplier such as 1x, 10x, 0.5x, or max"),
        ("speed", b"{}", 'the body needs "speed" as a string, e.g. {"speed": "60x"}'),
        ("seek", b'{"to": "soon"}', "offset 'soon': use a duration from the start (90m) or an ISO time"),
        ("seek", b'{"to": "2h"}', "is after the last snapshot time of the replay"),
        ("step", b'{"snapshots": 0}', "snapshots 0: a whole number from 1"),
        ("step", b'{"snapshots": "2"}', "snapshots '2': a whole number from 1"),
        ("pause", b"not json", "the body is not JSON"),
        ("pause", b"[1]", "the body must be a JSON object"),
    ],
)
def test_a_bad_body_is_a_400_saying_what_is_wrong_and_changes_nothing(endpoint, path, body, error):
    status, answer = post(endpoint.url, path, body)
    assert status == 400 and error in answer["error"]
    assert endpoint.control.actions == []


def test_unknown_paths_and_non_json_posts_are_refused(endpoint):
    assert post(endpoint.url, "rewind", b"{}")[0] == 404
    assert post(endpoint.url, "pause", b"{}", "text/plain") == (400, {"error": "send Content-Type: application/json"})
    assert post(endpoint.url, "speed", b'{"speed": "max"}')[1]["speed"] == "max"


def test_the_dashboard_says_when_no_replay_answers():
    url = f"http://127.0.0.1:{free_port()}/"
    status, body = forward(url, "status", None)
    assert status == 502 and "is play --control running?" in json.loads(body)["error"]
