"""Appending polls to a recording folder, crash-safe at every step."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from velib_replay.recording.codec import COMPRESSIONS, DELTA, DELTA_LEVEL, KEYFRAME_EVERY, DeltaChain, compress
from velib_replay.recording.format import (
    DELTA_VERSION,
    FORMAT,
    INDEX,
    MANIFEST,
    VERSION,
    Poll,
    RecordingError,
    checked,
    format_time,
)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: Path, data: bytes) -> None:
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


def index_line(poll: Poll) -> str:
    return json.dumps(poll.to_record(), ensure_ascii=False) + "\n"


class RecordingWriter:
    """Appends polls to a recording folder, crash-safe at every step.

    With ``zstd-delta`` each body is stored as a delta of the previous committed body of
    its feed, a keyframe every ``keyframe_every``; a writer that resumes a recording
    starts with a keyframe, so it never depends on a body it did not write itself.
    """

    def __init__(
        self,
        path: Path,
        *,
        compression: str = "gzip",
        source: dict[str, Any] | None = None,
        keyframe_every: int = KEYFRAME_EVERY,
        level: int = DELTA_LEVEL,
    ):
        if compression not in COMPRESSIONS:
            raise RecordingError(f"unknown compression {compression!r} (choose {', '.join(COMPRESSIONS)})")
        if keyframe_every < 1:
            raise RecordingError(f"a keyframe every {keyframe_every} polls: use at least 1")
        self.path = Path(path)
        self.compression = compression
        self._chains: dict[str, DeltaChain] = {}  # feed → its chain, with zstd-delta
        self._keyframe_every, self._level = keyframe_every, level
        codec = {"version": DELTA_VERSION, "codec": {"name": DELTA, "keyframe_every": keyframe_every, "level": level}}
        self._write_manifest(source or {}, codec if compression == DELTA else {})

    def _write_manifest(self, source: dict[str, Any], codec: dict[str, Any]) -> None:
        """A new recording's manifest; an existing one is kept, but says v2 and its codec once deltas go in."""
        manifest = self.path / MANIFEST
        if manifest.exists():
            if not codec:
                return
            try:
                header = json.loads(manifest.read_bytes())
            except (OSError, ValueError) as error:
                raise RecordingError(f"{manifest}: unreadable manifest ({error})") from None
        else:
            created = format_time(datetime.now(timezone.utc))
            header = {"format": FORMAT, "version": VERSION, "created": created, **source}
        if not manifest.exists() or header | codec != header:
            atomic_write(manifest, (json.dumps(header | codec, indent=2, ensure_ascii=False) + "\n").encode())

    def write(self, poll: Poll, body: bytes | None) -> Poll:
        """Store one poll; the body (if any) first, then its meta file, then the index line."""
        stem = self._free_stem(poll.fetched_at, poll.feed)
        if body is not None:
            stored, suffix, delta_of = self._encode(poll.feed, body)
            body_file = f"{stem}.json{suffix}"
            atomic_write(self.path / body_file, stored)
            poll = replace(checked(poll, body), body_file=body_file, stored_size=len(stored), delta_of=delta_of)
        poll = replace(poll, meta_file=f"{stem}.meta.json")
        line = index_line(poll)
        atomic_write(self.path / poll.meta_file, line.encode())
        with open(self.path / INDEX, "a", encoding="utf-8") as index:
            index.write(line)
        if body is not None and poll.feed in self._chains:
            self._chains[poll.feed].committed(poll.body_file, body, poll.delta_of)
        return poll

    def _encode(self, feed: str, body: bytes) -> tuple[bytes, str, str | None]:
        """(stored bytes, file suffix, body file it is a delta of)."""
        if self.compression != DELTA:
            return compress(body, self.compression), COMPRESSIONS[self.compression], None
        chain = self._chains.setdefault(feed, DeltaChain(self._keyframe_every, self._level))
        return chain.encode(body)

    def _free_stem(self, moment: datetime, feed: str) -> str:
        moment = moment.astimezone(timezone.utc)
        while True:
            stamp = moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"
            stem = f"{moment:%Y-%m-%d}/{stamp}.{feed}"
            if not (self.path / f"{stem}.meta.json").exists():
                return stem
            moment += timedelta(milliseconds=1)
