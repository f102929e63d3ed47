"""S3 bucket notifications for Prompt Processing and the sinks they go to.

`bucket_notification` builds the JSON Prompt Processing (and ctrl_oods'
message ingester) consume: ``Records[].eventName``,
``Records[].s3.bucket.name``, ``Records[].s3.object.key``, ``size``,
``eTag``. A `NotificationSink` sends it somewhere: `DirectorySink` writes one
JSON file per notification (the default; a Kafka sink will follow when the
Kafka transport exists).
"""

from __future__ import annotations

__all__ = ["DirectorySink", "NotificationSink", "bucket_notification", "make_sink"]

import datetime
import itertools
import json
import os
import tempfile
import threading
import urllib.parse
from typing import Any, Protocol

from .config import NotificationConfig
from .errors import DestinationConfigError
from .transfer import TransferResult


def bucket_notification(
    result: TransferResult,
    *,
    event_name: str = "ObjectCreated:Put",
    configuration_id: str = "",
    now: float | None = None,
) -> dict[str, Any]:
    """Build the S3 bucket-notification JSON of one delivered object.

    For a non-S3 destination the bucket name is empty and the key is the
    full path.
    """
    parsed = urllib.parse.urlsplit(result.uri)
    if parsed.scheme == "s3":
        bucket = parsed.netloc.rsplit("@", 1)[-1]
        key = parsed.path.lstrip("/")
    else:
        bucket = ""
        key = urllib.parse.unquote(parsed.path)
    when = (
        datetime.datetime.fromtimestamp(now, datetime.UTC)
        if now is not None
        else datetime.datetime.now(datetime.UTC)
    )
    return {
        "Records": [
            {
                "eventVersion": "2.2",
                "eventSource": "ts_archiver:s3",
                "eventTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "eventName": event_name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": result.size, "eTag": result.etag or ""},
                },
            }
        ]
    }


class NotificationSink(Protocol):
    """Where notifications go. ``send`` blocks; it is called from a worker thread."""

    def send(self, notification: dict[str, Any]) -> None:
        """Deliver one notification or raise."""


class DirectorySink:
    """Write each notification to its own JSON file (atomic: temp + rename).

    Parameters
    ----------
    directory : `str`
        Existing directory.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def send(self, notification: dict[str, Any]) -> None:
        """Write ``<time_ns>_<n>.json``."""
        if not os.path.isdir(self.directory):
            raise FileNotFoundError(f"Notification directory {self.directory} does not exist")
        with self._lock:
            n = next(self._counter)
        name = f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S%f}_{os.getpid()}_{n:08d}.json"
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(notification, out)
            os.replace(temp, os.path.join(self.directory, name))
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise


def make_sink(config: NotificationConfig) -> NotificationSink:
    """Build the sink a configuration names.

    Raises
    ------
    DestinationConfigError
        For an unknown sink kind.
    """
    if config.kind == "directory":
        return DirectorySink(config.directory)
    raise DestinationConfigError(f"Unknown notification sink kind {config.kind!r}; use 'directory'")
