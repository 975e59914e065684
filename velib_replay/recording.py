"""Recording format v1: storage of polls, kept apart from how they were fetched or are sent.

A recording is a folder::

    recording.json                                  manifest: format, version, source, notes
    index.jsonl                                     one line per poll, a cache rebuilt from the meta files
    2025-10-18/20251018T091200.000Z.station_status.json.gz    the body, byte-for-byte once decompressed
    2025-10-18/20251018T091200.000Z.station_status.meta.json  fetch time, HTTP status, latency, validity…

Each poll is committed by its meta file, written after its body, both by atomic
rename: a crash at any moment leaves at most the poll in flight missing. A gap (a
poll that got no usable response) is a meta file without a body.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import zstandard

from velib_replay.errors import UserError
from velib_replay.feed import FeedError, Station, parse_status

FORMAT = "velib-replay-recording"
VERSION = 1
MANIFEST = "recording.json"
INDEX = "index.jsonl"
STATUS_FEED = "station_status"
INFO_FEED = "station_information"
COMPRESSIONS = {"gzip": ".gz", "zstd": ".zst", "none": ""}
ZSTD_LEVEL = 15  # on the real 457 KB body: 25.5 KB in ~18 ms (level 9: 30.1 KB; 19: 23.9 KB but ~280 ms)


class RecordingError(UserError):
    """A folder that is not a readable recording."""


@dataclass(frozen=True)
class Poll:
    """One request to a feed and what came back (or why nothing usable did)."""

    feed: str
    fetched_at: str  # UTC, ISO 8601 with milliseconds
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

    @property
    def is_gap(self) -> bool:
        return self.body_file is None

    @property
    def fetched_datetime(self) -> datetime:
        return parse_time(self.fetched_at)

    @property
    def snapshot_time(self) -> int:
        """The feed's own clock when it has one, else the fetch time (seconds)."""
        if self.last_updated is not None:
            return self.last_updated
        return int(self.fetched_datetime.timestamp())


@dataclass(frozen=True)
class Snapshot:
    """A valid station_status poll: what the player sends and the verifier recomputes.

    Its stations are read from disk on each access, so a replay of a week-long
    recording holds one snapshot's stations at a time, not the whole recording's.
    """

    poll: Poll
    recording: Recording = field(repr=False, compare=False)

    @property
    def stations(self) -> list[Station]:
        try:
            return parse_status(self.recording.body(self.poll)).stations
        except FeedError as error:
            raise RecordingError(
                f"{self.recording.path / self.poll.body_file}: no longer a valid body ({error})"
            ) from None

    @property
    def fetched_at(self) -> datetime:
        return self.poll.fetched_datetime

    @property
    def snapshot_time(self) -> int:
        return self.poll.snapshot_time


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide recordings from other users
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    return data


def _decompress(data: bytes, name: str) -> bytes:
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompress(data)
    return data


def validate(feed: str, body: bytes) -> tuple[bool, int | None, str | None]:
    """(valid, feed clock, reason) for a body: invalid bodies are kept, flagged, never fatal."""
    try:
        document = parse_status(body)  # both feeds share the data.stations shape
    except FeedError as error:
        return False, None, str(error)
    return True, document.last_updated, None


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


class RecordingWriter:
    """Appends polls to a recording folder, crash-safe at every step."""

    def __init__(self, path: Path, *, compression: str = "gzip", source: dict[str, Any] | None = None):
        if compression not in COMPRESSIONS:
            raise RecordingError(f"unknown compression {compression!r} (choose {', '.join(COMPRESSIONS)})")
        self.path = Path(path)
        self.compression = compression
        manifest = self.path / MANIFEST
        if not manifest.exists():
            created = format_time(datetime.now(timezone.utc))
            header = {"format": FORMAT, "version": VERSION, "created": created, **(source or {})}
            _atomic_write(manifest, (json.dumps(header, indent=2, ensure_ascii=False) + "\n").encode())

    def write(self, poll: Poll, body: bytes | None) -> Poll:
        """Store one poll; the body (if any) first, then its meta file, then the index line."""
        moment = parse_time(poll.fetched_at)
        stem = self._free_stem(moment, poll.feed)
        if body is not None:
            stored = _compress(body, self.compression)
            body_file = f"{stem}.json{COMPRESSIONS[self.compression]}"
            _atomic_write(self.path / body_file, stored)
            poll = replace(checked(poll, body), body_file=body_file, stored_size=len(stored))
        poll = replace(poll, meta_file=f"{stem}.meta.json")
        record = json.dumps(asdict(poll), ensure_ascii=False)
        _atomic_write(self.path / poll.meta_file, (record + "\n").encode())
        with open(self.path / INDEX, "a", encoding="utf-8") as index:
            index.write(record + "\n")
        return poll

    def _free_stem(self, moment: datetime, feed: str) -> str:
        while True:
            stamp = moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"
            stem = f"{moment:%Y-%m-%d}/{stamp}.{feed}"
            if not (self.path / f"{stem}.meta.json").exists():
                return stem
            moment += timedelta(milliseconds=1)


class Recording:
    """Reads a recording folder: polls in time order, bodies byte-for-byte."""

    def __init__(self, path: Path):
        self.path = Path(path)
        manifest = self.path / MANIFEST
        if not manifest.is_file():
            raise RecordingError(f"{self.path}: not a recording (no {MANIFEST})")
        try:
            self.manifest: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise RecordingError(f"{manifest}: unreadable manifest ({error})") from None
        if self.manifest.get("format") != FORMAT or self.manifest.get("version") != VERSION:
            raise RecordingError(
                f"{self.path}: unsupported recording format "
                f"{self.manifest.get('format')!r} v{self.manifest.get('version')}"
            )
        self._polls: list[Poll] | None = None

    def polls(self, feed: str | None = None) -> list[Poll]:
        if self._polls is None:
            self._polls = sorted(self._load_polls(), key=lambda poll: (poll.fetched_at, poll.feed))
        return [poll for poll in self._polls if feed is None or poll.feed == feed]

    def body(self, poll: Poll) -> bytes:
        if poll.body_file is None:
            raise RecordingError(f"{poll.meta_file}: a gap has no body")
        try:
            return _decompress((self.path / poll.body_file).read_bytes(), poll.body_file)
        except (OSError, EOFError, gzip.BadGzipFile, zstandard.ZstdError) as error:
            raise RecordingError(f"{self.path / poll.body_file}: unreadable body ({error})") from None

    def snapshots(self) -> Iterator[Snapshot]:
        """Valid station_status polls in fetch order, repeated ones included as recorded."""
        for poll in self.polls(STATUS_FEED):
            if poll.valid and not poll.is_gap:
                yield Snapshot(poll, self)

    def repair(self) -> int:
        """Rebuild index.jsonl from the meta files; returns the number of polls indexed."""
        self._polls = None
        polls = self._scan_meta_files()
        self._write_index(polls)
        return len(polls)

    def _write_index(self, polls: list[Poll]) -> None:
        ordered = sorted(polls, key=lambda poll: (poll.fetched_at, poll.feed))
        lines = "".join(json.dumps(asdict(poll), ensure_ascii=False) + "\n" for poll in ordered)
        _atomic_write(self.path / INDEX, lines.encode())

    def _load_polls(self) -> list[Poll]:
        """The index when it lists exactly the committed polls, else a rebuild from the meta files."""
        meta_names = {path.relative_to(self.path).as_posix() for path in self.path.glob("*/*.meta.json")}
        indexed = {poll.meta_file: poll for poll in self._read_index()}
        if set(indexed) == meta_names:
            return list(indexed.values())
        polls = self._scan_meta_files()
        if os.access(self.path, os.W_OK):
            self._write_index(polls)
        return polls

    def _read_index(self) -> list[Poll]:
        index = self.path / INDEX
        if not index.exists():
            return []
        polls = []
        for line in index.read_text(encoding="utf-8").splitlines():
            try:
                polls.append(Poll(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue  # a line torn by a crash: the meta files are the truth
        return polls

    def _scan_meta_files(self) -> list[Poll]:
        polls = []
        for meta in self.path.glob("*/*.meta.json"):
            try:
                polls.append(Poll(**json.loads(meta.read_text(encoding="utf-8"))))
            except (json.JSONDecodeError, TypeError) as error:
                raise RecordingError(f"{meta}: unreadable meta file ({error})") from None
        return polls
