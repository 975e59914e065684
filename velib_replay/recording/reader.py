"""Reading a recording folder: polls in time order, bodies byte-for-byte, snapshots to replay."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import zstandard

from velib_replay.recording.feed import FeedError, Station, parse_status
from velib_replay.recording.format import FORMAT, INDEX, MANIFEST, STATUS_FEED, VERSION, Poll, RecordingError
from velib_replay.recording.writer import atomic_write, index_line


def decompress(data: bytes, name: str) -> bytes:
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompress(data)
    return data


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
        return self.poll.fetched_at

    @property
    def snapshot_time(self) -> int:
        return self.poll.snapshot_time


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
            return decompress((self.path / poll.body_file).read_bytes(), poll.body_file)
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
        lines = "".join(index_line(poll) for poll in ordered)
        atomic_write(self.path / INDEX, lines.encode())

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
                polls.append(Poll.from_record(json.loads(line)))
            except (ValueError, TypeError):
                continue  # a line torn by a crash: the meta files are the truth
        return polls

    def _scan_meta_files(self) -> list[Poll]:
        polls = []
        for meta in self.path.glob("*/*.meta.json"):
            try:
                polls.append(Poll.from_record(json.loads(meta.read_text(encoding="utf-8"))))
            except (ValueError, TypeError) as error:
                raise RecordingError(f"{meta}: unreadable meta file ({error})") from None
        return polls
