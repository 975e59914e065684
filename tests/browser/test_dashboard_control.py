"""``dashboard --control``: the page's buttons, clicked in a real Chromium, drive a running replay.

The replay runs in a thread at 6x (ten seconds a snapshot) under ``play --control``'s endpoint; the dashboard
proxies the page's clicks to it. Pause holds it, step sends exactly one snapshot, max and play finish it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from helpers import until
from playwright.sync_api import expect

from velib_replay.dashboard.server import open_dashboard
from velib_replay.replay.control import Control
from velib_replay.replay.control_server import ControlServer
from velib_replay.replay.options import PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import plan_slots, replay_to_topic

pytestmark = pytest.mark.integration

WAIT_MS = 60_000  # the page polls every second; the margin is for a busy 2-core machine


@pytest.fixture
def running(sample, velib_kafka, velib_kafka_target, velib_topics):
    """A replay of the sample at 6x under a Control, its endpoint, and a dashboard driving it."""
    plan = ReplayPlan(speed=6.0)
    control = Control(plan_slots(sample, plan), plan.speed)
    endpoint = ControlServer(control).start()
    result: dict = {}
    player = threading.Thread(
        target=lambda: result.setdefault(
            "stats",
            replay_to_topic(sample, velib_kafka_target, velib_topics.status, PlayOptions(plan), control=control),
        ),
        daemon=True,
    )
    player.start()
    names = velib_topics
    dashboard = open_dashboard(
        velib_kafka_target, names.indicators, names.status, "127.0.0.1", 0, 600, endpoint.url
    ).start()
    try:
        yield control, dashboard, player, result
    finally:
        control.set_speed(None)
        control.resume()
        player.join(WAIT_MS / 1000)
        dashboard.close()
        endpoint.close()


def test_the_buttons_pause_and_step_a_running_replay(page, running):
    control, dashboard, player, result = running
    page.goto(dashboard.url)
    expect(page.locator("#control-state")).to_have_text("playing", timeout=WAIT_MS)
    page.click("#control-pause")
    expect(page.locator("#control-state")).to_have_text("paused", timeout=WAIT_MS)
    held = control.status()
    assert held["paused"]
    time.sleep(2)
    assert control.status()["snapshots_sent"] == held["snapshots_sent"]  # nothing sent while paused
    page.click("#control-step")
    sent = held["snapshots_sent"] + 1
    expect(page.locator("#control-sent")).to_contain_text(f"{sent} snapshots", timeout=WAIT_MS)
    time.sleep(1)
    status = control.status()
    assert (status["snapshots_sent"], status["paused"]) == (sent, True)  # exactly one, then held again
    expect(page.locator("#control-feed-time")).to_have_text(status["feed_time"], timeout=WAIT_MS)
    page.select_option("#control-speed", "max")
    # the page's two requests are independent: the speed first, then resume
    until(lambda: control.speed is None, "speed max", WAIT_MS / 1000)
    page.click("#control-resume")
    expect(page.locator("#control-state")).to_have_text("finished", timeout=WAIT_MS)
    player.join(WAIT_MS / 1000)
    stats = result["stats"]
    assert stats.snapshots == 11 and stats.undelivered == 0
    assert [action["action"] for action in stats.actions] == ["pause", "step", "speed", "resume"]


def test_the_proxy_takes_actions_only_from_the_page_itself(running):
    control, dashboard, _player, _result = running

    def post(headers: dict) -> int:
        request = urllib.request.Request(dashboard.url + "control/pause", data=b"{}", headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert post({"Content-Type": "text/plain"}) == 403  # what another site's form could send
    assert post({"Content-Type": "application/json", "Origin": "http://elsewhere.example"}) == 403
    assert control.status()["paused"] is False
    assert post({"Content-Type": "application/json"}) == 200
    with urllib.request.urlopen(dashboard.url + "control/status", timeout=10) as answer:
        assert json.load(answer)["paused"] is True
