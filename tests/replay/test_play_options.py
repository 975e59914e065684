"""PlayOptions: play's options as one value, checked in one place for every entry point (CLI, plugin, scenarios)."""

from __future__ import annotations

import pytest
from conftest import SAMPLE

from velib_replay.errors import UserError
from velib_replay.kafka.broker import free_port
from velib_replay.kafka.client_config import KafkaTarget
from velib_replay.recording import MANIFEST, Recording
from velib_replay.replay.faults import parse_fault
from velib_replay.replay.options import OptionError, PlayOptions
from velib_replay.replay.pacing import ReplayPlan
from velib_replay.replay.player import replay_to_topic


@pytest.mark.parametrize(
    ("options", "option", "says"),
    [
        ({"plan": ReplayPlan(speed=0.0)}, "speed", "speed 0.0 must be a finite multiplier above 0"),
        ({"plan": ReplayPlan(speed=float("nan"))}, "speed", "speed nan must be a finite multiplier above 0"),
        ({"faults": [parse_fault("drop=0.1"), parse_fault("drop=0.2")]}, "inject", "drop is given twice"),
        ({"timestamps": "wall"}, "timestamps", "unknown timestamps 'wall'"),
        ({"client": "rdkafka"}, "client", "unknown Kafka client 'rdkafka'"),
        ({"partitions": 0}, "partitions", "partitions 0 must be 1 or more"),
    ],
)
def test_what_no_replay_could_honour_is_refused_on_construction_naming_plays_option(options, option, says):
    with pytest.raises(OptionError, match=says) as refused:
        PlayOptions(**options)
    assert refused.value.option == option


def test_the_defaults_are_the_librarys_and_stalls_may_repeat():
    options = PlayOptions(faults=[parse_fault("stall=1m:1s"), parse_fault("stall=2m:1s")])
    assert options.plan == ReplayPlan() and options.timestamps == "feed" and isinstance(options.faults, tuple)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (PlayOptions(ReplayPlan(limit=2), [parse_fault("stall=5h:1s")]), "so this stall would never happen"),
        (PlayOptions(fault_log=SAMPLE / MANIFEST), "is inside the recording"),
    ],
)
def test_every_replay_refuses_what_it_cannot_honour_before_reaching_kafka(options, says):
    """What only play refused up front, the plugin's and the scenarios' replays now refuse too: no broker listens."""
    with pytest.raises(UserError, match=says):
        replay_to_topic(Recording(SAMPLE), KafkaTarget(f"127.0.0.1:{free_port()}"), "t", options)
