"""Reading a recording folder: polls in time order, bodies byte-for-byte, snapshots to replay."""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from velib_replay.contracts.feed import (
    NO_CONTEXT,
    FeedError,
    Station,
    SystemContext,
    parse_status,
    station_areas,
    system_context,
    with_added_fields,
)
from velib_replay.recording.codec import DECODE_ERRORS, decompress, decompress_delta
from velib_replay.recording.format import (
    FORMAT,
    INDEX,
    INFO_FEED,
    MANIFEST,
    REGIONS_FEED,
    STATUS_FEED,
    SYSTEM_FEED,
    TYPES_FEED,
    VERSIONS,
    DamagedBody,
    Poll,
    RecordingError,
)
from velib_replay.recording.writer import atomic_write, index_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A valid station_status poll: what the player sends and the verifier recomputes.

    Its stations are read from disk on each access, so a replay of a week-long
    recording holds one snapshot's stations at a time, not the whole recording's. They come with the fields
    the message contract adds (none for Vélib'), from the system's feeds as recorded at that time.
    """

    poll: Poll
    recording: Recording = field(repr=False, compare=False)

    @property
    def stations(self) -> list[Station]:
        try:
            return with_added_fields(parse_status(self.recording.body(self.poll)).stations, self.context)
        except FeedError as error:
            raise RecordingError(
                f"{self.recording.path / self.poll.body_file}: no longer a valid body ({error})"
            ) from None

    @property
    def context(self) -> SystemContext:
        return self.recording.context_at(self.poll)

    @property
    def fetched_at(self) -> datetime:
        return self.poll.fetched_at

    @property
    def snapshot_time(self) -> int:
        return self.poll.snapshot_time


class Recording:
    """Reads a recording folder (v1 or v2): polls in time order, bodies byte-for-byte.

    The last body read is kept, so reading a v2 recording in order decompresses each
    delta once against it; memory holds one body, whatever the recording's length.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        manifest = self.path / MANIFEST
        if not manifest.is_file():
            raise RecordingError(f"{self.path}: not a recording (no {MANIFEST})")
        try:
            self.manifest: dict[str, Any] = json.loads(manifest.read_bytes())
        except (OSError, ValueError) as error:  # ValueError: not JSON, not UTF-8
            raise RecordingError(f"{manifest}: unreadable manifest ({error})") from None
        if not isinstance(self.manifest, dict):
            raise RecordingError(f"{manifest}: unreadable manifest (not a JSON object)")
        if self.manifest.get("format") != FORMAT or self.manifest.get("version") not in VERSIONS:
            raise RecordingError(
                f"{self.path}: unsupported recording format "
                f"{self.manifest.get('format')!r} v{self.manifest.get('version')}"
            )
        self._polls: list[Poll] | None = None
        self._by_body_file: dict[str, Poll] | None = None
        self._last_body: tuple[str, bytes] | None = None  # (body file, body) of the last body read
        self._verified: dict[str, int] = {}  # body file → CRC-32 of the stored bytes whose body matched its sha256
        self._contexts: dict[tuple[Poll | None, ...], SystemContext] = {}
        self._context_polls: dict[str, list[Poll]] = {}

    def polls(self, feed: str | None = None) -> list[Poll]:
        if self._polls is None:
            self._polls = sorted(self._load_polls(), key=lambda poll: (poll.fetched_at, poll.feed))
        return [poll for poll in self._polls if feed is None or poll.feed == feed]

    def body(self, poll: Poll) -> bytes:
        """The body as fetched; a delta is decoded from its chain back to the last body read or its keyframe."""
        if poll.body_file is None:
            raise RecordingError(f"{poll.meta_file}: a gap has no body")
        last_file, body = self._last_body or (None, b"")  # one read: threads (serve) may replace it meanwhile
        if last_file == poll.body_file:
            return body
        for link in self._chain(poll, last_file):
            body = self._decode(link, body)
        self._last_body = (poll.body_file, body)
        return body

    def _chain(self, poll: Poll, last_file: str | None) -> list[Poll]:
        """The polls to decode in order to get ``poll``'s body: from a keyframe, or after the last body read."""
        chain = [poll]
        while chain[-1].delta_of is not None and chain[-1].delta_of != last_file:
            reference = self._poll_of(chain[-1].delta_of)
            if reference is None or len(chain) > len(self._by_body_file or ()):
                raise RecordingError(
                    f"{self.path / chain[-1].body_file}: a delta of {chain[-1].delta_of}, which is not a committed body"
                )
            chain.append(reference)
        return chain[::-1]

    def _poll_of(self, body_file: str) -> Poll | None:
        if self._by_body_file is None:
            self._by_body_file = {poll.body_file: poll for poll in self.polls() if poll.body_file}
        return self._by_body_file.get(body_file)

    def _decode(self, poll: Poll, reference: bytes) -> bytes:
        """One body from its file: whole, or a delta of ``reference`` (the body its ``delta_of`` names), checked
        against its meta file's sha256, so a body overwritten by another poll's is never taken for this poll's.

        A file read again (``play`` reads every body to check it, then again to send it) is checked against the
        CRC-32 of the stored bytes whose body matched: the same bytes decode to the same body (a delta's reference
        is checked the same way), for a tenth of the sha256's cost on the decoded snapshot (bench/checksums.py).
        """
        path = self.path / str(poll.body_file)
        try:
            data = path.read_bytes()
            body = decompress_delta(data, reference) if poll.delta_of else decompress(data, path.name)
        except DECODE_ERRORS as error:
            raise RecordingError(f"{path}: unreadable body ({error})") from None
        if poll.sha256 is None or self._verified.get(str(poll.body_file)) == (stored := zlib.crc32(data)):
            return body
        if hashlib.sha256(body).hexdigest() != poll.sha256:
            raise DamagedBody(
                f"{path}: damaged body: not the one polled at {poll.fetched_text} (its sha256 differs from"
                f" {poll.meta_file}'s)"
            )
        self._verified[str(poll.body_file)] = stored
        return body

    def context_at(self, poll: Poll) -> SystemContext:
        """The system's ``system_information`` and ``vehicle_types`` as last recorded at or before ``poll``
        (the first ones recorded, if the poll precedes them); read once per change, not per snapshot."""
        latest = tuple(self._latest(feed, poll) for feed in (SYSTEM_FEED, TYPES_FEED))
        if latest == (None, None):
            return NO_CONTEXT
        if latest not in self._contexts:
            bodies = [self.body(found) if found is not None else None for found in latest]
            self._contexts[latest] = system_context(*bodies)
        return self._contexts[latest]

    def areas(self) -> dict[str, str]:
        """stationCode → area from the latest station_information and system_regions recorded
        (``feed.station_areas``): the areas of a system that has no station table."""
        bodies = []
        for feed in (INFO_FEED, REGIONS_FEED):
            found = [p for p in self.polls(feed) if p.valid and not p.is_gap]
            bodies.append(self.body(found[-1]) if found else None)
        return station_areas(*bodies)

    def _latest(self, feed: str, poll: Poll) -> Poll | None:
        if feed not in self._context_polls:
            self._context_polls[feed] = [p for p in self.polls(feed) if p.valid and not p.is_gap]
        found = self._context_polls[feed]
        if not found:
            return None
        at = bisect.bisect_right(found, poll.fetched_at, key=lambda p: p.fetched_at)
        return found[max(at - 1, 0)]

    def snapshots(self) -> Iterator[Snapshot]:
        """Valid station_status polls in fetch order, repeated ones included as recorded."""
        for poll in self.polls(STATUS_FEED):
            if poll.valid and not poll.is_gap:
                yield Snapshot(poll, self)

    def repair(self) -> int:
        """Rebuild index.jsonl from the meta files; returns the number of polls indexed."""
        self._polls, self._by_body_file, self._last_body, self._verified = None, None, None, {}
        self._contexts, self._context_polls = {}, {}
        metas = self._scan_meta_files()
        self._write_index(metas)
        return len(metas)

    def _write_index(self, metas: list[_Meta]) -> None:
        """One line per poll in time order, each the meta file's own bytes when it is one line (the fast check)."""
        ordered = sorted(metas, key=lambda meta: (meta.poll.fetched_at, meta.poll.feed))
        atomic_write(self.path / INDEX, b"".join(meta.line for meta in ordered))

    def _load_polls(self) -> list[Poll]:
        """The index when it says exactly what the meta files say, else a rebuild from the meta files.

        The meta files are the truth; the index only spares parsing them. Checking it costs
        reading every meta file, but not parsing it: an index line is its meta file's bytes
        (the writer writes both from one string, a rebuild copies them), so a byte
        comparison settles all but lines written otherwise (an older tool, a hand-made
        recording), whose meta file alone is then parsed and compared as a poll. Comparing
        sizes and mtimes instead would miss a same-length edit (``"last_updated": …556`` →
        ``…557``) for little gain: on a 10,080-poll recording (a week) the check adds about a
        fifth to loading (≈1.1 s → ≈1.3 s measured on a busy 2-core machine). Any disagreement
        (a torn, edited, missing, extra or non-UTF-8 line) rebuilds the index from the meta
        files, with one warning line.
        """
        index = self.path / INDEX
        names = _meta_names(self.path)
        indexed = _read_index(index)
        if indexed is not None and indexed.keys() == set(names):
            disagreeing = [name for name in names if not _agrees(self.path, name, indexed[name])]
            if not disagreeing:
                return [poll for poll, _line in indexed.values()]
            why = f"{len(disagreeing)} line(s) differ from their meta file, e.g. {disagreeing[0]}"
        else:
            listed = f"{len(indexed)} polls" if indexed is not None else "unreadable lines"
            why = f"it has {listed}, the folder {len(names)} meta files"
        metas = [_read_meta(self.path, name) for name in names]
        if index.exists():
            log.warning("%s disagrees with the meta files (%s): rebuilt from them", index, why)
        if os.access(self.path, os.W_OK):
            self._write_index(metas)
        return [meta.poll for meta in metas]

    def _scan_meta_files(self) -> list[_Meta]:
        """Every committed poll, read from its meta file; a meta file that is not a poll is a one-line error."""
        return [_read_meta(self.path, name) for name in _meta_names(self.path)]


@dataclass(frozen=True)
class _Meta:
    poll: Poll
    line: bytes  # what the index holds for it


def _meta_names(root: Path) -> list[str]:
    """``day/name.meta.json`` of every committed poll (``*/*.meta.json`` without pathlib's cost per file)."""
    names: list[str] = []
    with os.scandir(root) as days:
        for day in days:
            if day.name.startswith(".") or not day.is_dir():
                continue
            with os.scandir(day.path) as entries:
                names += [
                    f"{day.name}/{entry.name}"
                    for entry in entries
                    if entry.name.endswith(".meta.json") and not entry.name.startswith(".")
                ]
    return names


def _read_index(index: Path) -> dict[str, tuple[Poll, bytes]] | None:
    """``{meta_file: (poll, line)}``, or None when the index is missing or has a line that is not a poll."""
    try:
        data = index.read_bytes()
    except FileNotFoundError:
        return None
    indexed: dict[str, tuple[Poll, bytes]] = {}
    for line in data.splitlines(keepends=True):
        try:
            poll = Poll.from_record(json.loads(line))
        except (ValueError, TypeError):  # torn by a crash, edited, not UTF-8: the meta files are the truth
            return None
        if poll.meta_file in indexed:
            return None
        indexed[poll.meta_file] = (poll, line)
    return indexed


def _read_bytes(root: Path, name: str) -> bytes:
    try:  # os-level calls: open()'s buffered file costs more than reading a small meta file
        fd = os.open(os.path.join(root, name), os.O_RDONLY)
        try:
            chunks = [os.read(fd, 1 << 16)]
            while chunks[-1]:
                chunks.append(os.read(fd, 1 << 16))
        finally:
            os.close(fd)
        return b"".join(chunks)
    except OSError as error:
        raise RecordingError(f"{root / name}: unreadable meta file ({error.strerror or error})") from None


def _read_meta(root: Path, name: str, data: bytes | None = None) -> _Meta:
    """A meta file's poll, or a one-line RecordingError naming the file (bad JSON, bad time, not an object)."""
    data = _read_bytes(root, name) if data is None else data
    try:
        poll = Poll.from_record(json.loads(data))
    except (ValueError, TypeError) as error:  # UnicodeDecodeError and bad times are ValueErrors
        raise RecordingError(f"{root / name}: unreadable meta file ({error})") from None
    line = data.rstrip(b"\r\n") + b"\n"
    return _Meta(poll, line if line.count(b"\n") == 1 else index_line(poll).encode())


def _agrees(root: Path, name: str, entry: tuple[Poll, bytes]) -> bool:
    """Whether a meta file says what its index line says: the same bytes, or else the same poll."""
    poll, line = entry
    data = _read_bytes(root, name)
    return data.rstrip(b"\r\n") == line.rstrip(b"\r\n") or _read_meta(root, name, data).poll == poll
