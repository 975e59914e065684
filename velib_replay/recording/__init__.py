"""Storage of polls: the recording format, its writer, its reader, and ``info``.

Kept apart from how polls are fetched (``capture``) and how they are sent (``replay``),
as rosbag2 keeps storage apart from transport.
"""

from velib_replay.recording.codec import COMPRESSIONS, DELTA, KEYFRAME_EVERY
from velib_replay.recording.format import (
    CONTEXT_FEEDS,
    INDEX,
    INFO_FEED,
    MANIFEST,
    STATUS_FEED,
    SYSTEM_FEED,
    TYPES_FEED,
    DamagedBody,
    Poll,
    RecordingError,
    checked,
    format_time,
)
from velib_replay.recording.reader import Recording, Snapshot
from velib_replay.recording.writer import RecordingWriter

__all__ = [
    "COMPRESSIONS",
    "CONTEXT_FEEDS",
    "DELTA",
    "INDEX",
    "INFO_FEED",
    "KEYFRAME_EVERY",
    "MANIFEST",
    "STATUS_FEED",
    "SYSTEM_FEED",
    "TYPES_FEED",
    "DamagedBody",
    "Poll",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "Snapshot",
    "checked",
    "format_time",
]
