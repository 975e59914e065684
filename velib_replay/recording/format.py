"""Recording formats v1 and v2: what a recording folder holds, independent of how polls were fetched or are sent.

A recording is a folder::

    recording.json                                  manifest: format, version, source, notes
    index.jsonl                                     one line per poll, a cache rebuilt from the meta files
    2025-10-18/20251018T091200.000Z.station_status.json.gz    the body, byte-for-byte once decompressed
    2025-10-18/20251018T091200.000Z.station_status.meta.json  fetch time, HTTP status, latency, validity…

Each poll is committed by its meta file, written after its body, both by atomic
rename: a crash at any moment leaves at most the poll in flight missing. A gap (a
poll that got no usable response) is a meta file without a body.

Format v2 differs only in how bodies are stored (``codec.py``): a body may be a
delta (``.json.dzst``) of an earlier committed body, named by its meta file's
``delta_of``; the manifest says ``"version": 2`` and its ``codec``. A v1 recording
is a valid v2 one with no deltas, so the reader reads both.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Any

from velib_replay.contracts.feed import FeedError, parse_document, parse_status
from velib_replay.errors import UserError
from velib_replay.units import parse_time

FORMAT = "velib-replay-recording"
VERSION = 1
DELTA_VERSION = 2  # written when a recording holds deltas, which a v1 reader could not decode
VERSIONS = (VERSION, DELTA_VERSION)
MANIFEST = "recording.json"
INDEX = "index.jsonl"
STATUS_FEED = "station_status"
INFO_FEED = "station_information"
SYSTEM_FEED = "system_information"
TYPES_FEED = "vehicle_types"
REGIONS_FEED = "system_regions"
CONTEXT_FEEDS = (SYSTEM_FEED, TYPES_FEED, REGIONS_FEED)  # recorded where a system publishes them
STATION_FEEDS = (STATUS_FEED, INFO_FEED)  # bodies with a data.stations list


class RecordingError(UserError):
    """A folder that is not a readable recording."""


class DamagedBody(RecordingError):
    """A body (v2: the snapshot rebuilt from its delta chain) that is not the one its meta file's sha256 names."""


def format_time(moment: datetime) -> str:
    """A fetch time as stored: UTC, ISO 8601 with milliseconds (``2025-10-18T09:12:00.000Z``)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Poll:
    """One request to a feed and what came back (or why nothing usable did)."""

    feed: str
    fetched_at: datetime  # aware, UTC; stored with millisecond precision
    status: int | None = None
    content_type: str | None = None
    latency_ms: float | None = None
    url: str | None = None
    last_updated: int | None = None
    valid: bool = False
    error: str | None = None
    body_file: str | None = None
    size: int = 0
    stored_size: int = 0
    sha256: str | None = None
    meta_file: str = ""
    origin: str | None = None  # None for polls really fetched; says how a derived body was made
    attempts: int | None = None  # HTTP attempts this poll took (retries + 1); None when not fetched
    delta_of: str | None = None  # v2: the body file this body is a delta of; None for a whole body

    @property
    def is_gap(self) -> bool:
        return self.body_file is None

    @property
    def fetched_text(self) -> str:
        """The fetch time as stored and shown: ``2025-10-18T09:12:00.000Z``."""
        return format_time(self.fetched_at)

    @property
    def snapshot_time(self) -> int:
        """The feed's own clock when it has one, else the fetch time (seconds)."""
        if self.last_updated is not None:
            return self.last_updated
        return int(self.fetched_at.timestamp())

    def to_record(self) -> dict[str, Any]:
        """The meta file's JSON object (and the index line's); a whole body's has no ``delta_of``, as in v1."""
        record = asdict(self) | {"fetched_at": self.fetched_text}
        if self.delta_of is None:
            del record["delta_of"]
        return record

    @classmethod
    def from_record(cls, record: Any) -> Poll:
        """A poll from a meta file's or index line's JSON object; ValueError or TypeError when it is not one."""
        if not isinstance(record, dict):
            raise TypeError("not a JSON object")
        fetched_at = record.get("fetched_at")
        if not isinstance(fetched_at, str):
            raise TypeError("no fetched_at time")
        return cls(**(record | {"fetched_at": parse_time(fetched_at)}))


def validate(feed: str, body: bytes) -> tuple[bool, int | None, str | None]:
    """(valid, feed clock, reason) for a body: invalid bodies are kept, flagged, never fatal."""
    try:
        if feed in STATION_FEEDS:
            document = parse_status(body)  # both feeds share the data.stations shape
            return True, document.last_updated, None
        return True, parse_document(body).last_updated, None
    except FeedError as error:
        return False, None, str(error)


def checked(poll: Poll, body: bytes | None) -> Poll:
    """``poll`` with what its body says (validity, feed clock, size, hash); a gap is returned as is.

    A body the fetch already flagged (``poll.error``, e.g. truncated) is never valid.
    """
    if body is None:
        return poll
    valid, last_updated, error = validate(poll.feed, body)
    return replace(
        poll,
        valid=valid and poll.error is None,
        last_updated=last_updated,
        error=poll.error or error,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
