"""The Redis keys the CSC's `RedisCapturePool` and the capture workers share.

* ``task_stream``: one entry per capture task (fields ``id``, ``task``:
  `~lsst.ts.archiver.capture.codec.task_to_json`), read by the workers'
  consumer group ``worker_group``;
* ``result_stream``: one entry per finished attempt (fields ``id``,
  ``worker``, ``outcome``), read by the CSC's group ``result_group``;
* ``<task_stream>:worker:<name>``: a worker's heartbeat, a key that expires
  after the lease;
* ``<task_stream>:epoch``: set by the CSC; gone means Redis lost its data.
"""

from __future__ import annotations

__all__ = ["RedisQueueNames"]

from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class RedisQueueNames:
    """Stream, group and key names of one Archiver's capture queue."""

    task_stream: str
    result_stream: str
    worker_group: str
    result_group: str

    @property
    def heartbeat_pattern(self) -> str:
        """``SCAN`` pattern of the workers' heartbeat keys."""
        return f"{self.task_stream}:worker:*"

    def heartbeat_key(self, worker: str) -> str:
        """Heartbeat key of one worker."""
        return f"{self.task_stream}:worker:{worker}"

    def worker_of(self, key: str) -> str:
        """The worker name of a heartbeat key."""
        return key[len(f"{self.task_stream}:worker:") :]

    @property
    def epoch_key(self) -> str:
        """Key the CSC sets; its absence means Redis lost its data."""
        return f"{self.task_stream}:epoch"


def is_busy_group(error: redis.ResponseError) -> bool:
    """The group already exists (``XGROUP CREATE`` answered ``BUSYGROUP``)."""
    return str(error).startswith("BUSYGROUP")


def is_no_group(error: redis.ResponseError) -> bool:
    """The stream or its group is gone (``NOGROUP``)."""
    return str(error).startswith("NOGROUP")
