"""What goes on ``velib-projet``: one message per station per snapshot.

The value is the feed's own station object, fields untouched, plus ``snapshot_time``
(the feed clock of the snapshot it came from) and, for a system other than Vélib', the fields
``feed.added_fields`` names (``stationCode``, ``num_bikes_available_types``…), so a consumer written for the
original pipeline still parses it and the job can key indicators on the feed's time.
The record's Kafka timestamp is that time too (unless the publisher stamps send time),
so Kafka's time-based tools (offsets for times, ``startingOffsetsByTimestamp``) find feed times.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat

from velib_replay.contracts.feed import (
    NO_CONTEXT,
    Station,
    SystemContext,
    added_fields,
    codes_from_ids,
    iso_utc,
    station_code,
)
from velib_replay.contracts.station_bytes import station_texts

SNAPSHOT_TIME_FIELD = "snapshot_time"


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes
    timestamp_ms: int | None = None  # the Kafka record's timestamp; None lets the client stamp send time


class Messages(Sequence[Message]):
    """One snapshot's messages as two parallel lists, so the hot path makes no object per message.

    Publishers read ``keys`` and ``values`` directly; anything else sees a sequence of ``Message``.
    """

    __slots__ = ("keys", "timestamp_ms", "values")

    def __init__(self, keys: list[bytes | None], values: list[bytes], timestamp_ms: int | None = None):
        self.keys, self.values, self.timestamp_ms = keys, values, timestamp_ms  # one snapshot: one timestamp

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int | slice) -> Message | Messages:  # type: ignore[override]
        if isinstance(index, slice):
            return Messages(self.keys[index], self.values[index], self.timestamp_ms)
        return Message(self.keys[index], self.values[index], self.timestamp_ms)

    def __iter__(self) -> Iterator[Message]:
        return map(Message, self.keys, self.values, repeat(self.timestamp_ms))


def batch_columns(
    messages: Iterable[Message],
) -> tuple[Sequence[bytes | None], Sequence[bytes], Sequence[int | None]]:
    """The keys, values and timestamps of a batch, without copying a ``Messages``'s lists."""
    if isinstance(messages, Messages):
        return messages.keys, messages.values, [messages.timestamp_ms] * len(messages.values)
    batch = list(messages)
    return (
        [message.key for message in batch],
        [message.value for message in batch],
        [message.timestamp_ms for message in batch],
    )


def parse_station_filter(spec: str | None) -> frozenset[str] | None:
    """``all`` (or nothing) keeps every station; ``16107,32017`` keeps those codes."""
    if spec is None or spec.strip().lower() in ("", "all"):
        return None
    codes = frozenset(code.strip() for code in spec.split(",") if code.strip())
    if not codes:
        raise ValueError(f"no station code in {spec!r}")
    return codes


def selected(stations: Iterable[Station], wanted: frozenset[str] | None) -> list[Station]:
    return [station for station in stations if wanted is None or station_code(station) in wanted]


def station_message(station: Station, snapshot_time: int, added: dict | None = None) -> Message:
    """A non-object entry of the feed's list is sent as it is: the job sets it aside, counted, with its reason."""
    if isinstance(station, dict):
        station = {**station, **(added or {}), SNAPSHOT_TIME_FIELD: iso_utc(snapshot_time)}
    code = station_code(station)
    return Message(
        key=code.encode() if code is not None else None,
        value=json.dumps(station, separators=(",", ":"), ensure_ascii=False).encode(),
        timestamp_ms=snapshot_time * 1000,
    )


def snapshot_messages(
    stations: list[Station], snapshot_time: int, wanted: frozenset[str] | None, context: SystemContext = NO_CONTEXT
) -> list[Message]:
    """All messages of one snapshot, in the feed's order: they are sent together."""
    by_id = codes_from_ids(stations)
    messages = (station_message(s, snapshot_time, added_fields(s, context, by_id)) for s in stations)
    return [m for m in messages if wanted is None or (m.key is not None and m.key.decode() in wanted)]


def body_messages(
    body: bytes, snapshot_time: int, wanted: frozenset[str] | None, context: SystemContext = NO_CONTEXT
) -> Messages | None:
    """``snapshot_messages`` from the body's own bytes: each station's text, the added fields and
    ``snapshot_time`` spliced in before its closing brace; None when the body is not plain JSON (the caller
    parses it then). Vélib's stations need no added field, so their messages are the feed's bytes plus the time.

    A station that is not a non-empty object, or already has a ``snapshot_time``, is encoded as
    ``station_message`` does, so the two paths send the same JSON values.
    """
    found = station_texts(body)
    if found is None:
        return None
    stamp = iso_utc(snapshot_time)
    tail = f',"{SNAPSHOT_TIME_FIELD}":"{stamp}"}}'
    by_id = codes_from_ids(found[0])
    keys: list[bytes | None] = []
    values: list[bytes] = []
    for station, text in zip(*found, strict=True):
        added = added_fields(station, context, by_id)
        code = station_code({**station, **added} if added else station)
        if wanted is not None and code not in wanted:
            continue
        if type(station) is dict and station and SNAPSHOT_TIME_FIELD not in station:
            keys.append(code.encode() if code is not None else None)
            values.append((text[:-1] + _spliced(added) + tail).encode())
        else:
            message = station_message(station, snapshot_time, added)
            keys.append(message.key)
            values.append(message.value)
    return Messages(keys, values, snapshot_time * 1000)


def _spliced(added: dict) -> str:
    """The added members as JSON text, each led by a comma (empty for Vélib')."""
    return "".join(
        f",{json.dumps(name)}:{json.dumps(value, separators=(',', ':'), ensure_ascii=False)}"
        for name, value in added.items()
    )
