"""``velib-replay convert``: a recording rewritten with another codec, poll for poll (rosbag2's ``convert``).

Polls keep their fetch times, fields and file names (only the body suffix changes), so
a converted recording replays, verifies and describes exactly as its source did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from velib_replay.recording.codec import DELTA_LEVEL, KEYFRAME_EVERY
from velib_replay.recording.format import RecordingError
from velib_replay.recording.reader import Recording
from velib_replay.recording.writer import RecordingWriter

_WRITER_OWNED = ("format", "version", "codec")  # the new writer states these for the new codec


@dataclass(frozen=True)
class ConvertReport:
    polls: int
    raw_bytes: int
    stored_before: int
    stored_after: int


def convert(
    source: Path,
    out: Path,
    compression: str,
    *,
    keyframe_every: int = KEYFRAME_EVERY,
    level: int = DELTA_LEVEL,
) -> ConvertReport:
    """Write every poll of ``source`` to the new recording ``out`` with ``compression``; bodies stay byte-exact."""
    recording = Recording(source)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RecordingError(f"{out} already exists and is not an empty folder: choose a new one")
    if out.resolve() == Path(source).resolve():
        raise RecordingError("convert writes a new recording: OUT must differ from IN")
    manifest = {key: value for key, value in recording.manifest.items() if key not in _WRITER_OWNED}
    writer = RecordingWriter(out, compression=compression, source=manifest, keyframe_every=keyframe_every, level=level)
    raw = before = after = 0
    polls = recording.polls()
    for poll in polls:
        body = None if poll.is_gap else recording.body(poll)
        written = writer.write(poll, body)
        raw, before, after = raw + written.size, before + poll.stored_size, after + written.stored_size
    return ConvertReport(len(polls), raw, before, after)
