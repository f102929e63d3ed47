"""Where a reader starts on each assigned partition, and how the history of
events is collected: pure logic, no Kafka client.

The rules follow ts_salobj v8 (sal-wire §1.9): a topic read without history
starts at the high watermark (new data only); an event topic read with
history depth H starts H messages back from the high watermark and delivers,
for each writer (message key: component and writer index), the latest
message found, in write order, before any new data.

Two details make this correct on real Kafka and on the tansu test broker,
whose ListOffsets(latest) can answer "base offset of the last record batch
+ 1" instead of "last offset + 1" when a producer packed several records in a
batch:

* History does not end at the high watermark found at assignment. It ends
  once the reader has consumed everything up to the high watermark reported
  with the first fetched history message (fetch responses carry the true
  high watermark on both brokers). Messages written while history is being
  read are folded into it (latest per writer), which is what a reader that
  joined a moment later would have seen.
* A topic read without history ignores messages time-stamped before its
  assignment began, until the first message that is not. On real Kafka no
  such message exists at or after the high watermark (except ones produced
  in the same instant the reader subscribed, a race either way); on tansu
  they are the rest of the last batch, which must not be delivered as new
  data (a Controller must not execute an old command).
"""

from __future__ import annotations

__all__ = ["OFFSET_BEGINNING", "PartitionReadState", "plan_start"]

import dataclasses
import enum
from typing import Any

#: librdkafka's logical offset "beginning of the partition".
OFFSET_BEGINNING = -2


class Phase(enum.Enum):
    """Reading phase of one partition."""

    HISTORY = "history"
    LIVE = "live"


@dataclasses.dataclass
class PartitionReadState:
    """Reading state of one assigned partition (one topic: one partition).

    Build it with `plan_start`; then feed every consumed message to
    `on_message`, which says what to deliver.

    Attributes
    ----------
    start_offset : `int`
        Where to start consuming (`OFFSET_BEGINNING` or an offset).
    phase : `Phase`
        `Phase.HISTORY` until history is complete, then `Phase.LIVE`.
    not_before_ms : `int` or `None`
        In the live phase of a topic read without history: ignore messages
        time-stamped before this (ms since the Unix epoch) until one is not.
    """

    start_offset: int
    phase: Phase = Phase.LIVE
    not_before_ms: int | None = None
    history_end: int | None = None
    latest_by_key: dict[bytes, tuple[int, Any]] = dataclasses.field(default_factory=dict)
    next_offset: int | None = None
    stale_skipped: int = 0

    @property
    def in_history(self) -> bool:
        """Whether history is still being read."""
        return self.phase is Phase.HISTORY

    def on_message(
        self, offset: int, timestamp_ms: int | None, key: bytes, item: Any, fetched_high: int | None
    ) -> tuple[list[Any], list[Any]]:
        """Account for one consumed message.

        Parameters
        ----------
        offset : `int`
            Offset of the message.
        timestamp_ms : `int` or `None`
            Its timestamp, if known.
        key : `bytes`
            Its key (history keeps the latest message per key).
        item : `object`
            What to deliver for it (opaque here).
        fetched_high : `int` or `None`
            High watermark from the latest fetch response, if known.

        Returns
        -------
        history, live : `list`, `list`
            Items to deliver as history (only when history completes with
            this message, in write order) and as new data.
        """
        self.next_offset = offset + 1
        if self.phase is Phase.HISTORY:
            self.latest_by_key[key] = (offset, item)
            if self.history_end is None:
                # The first fetch response tells the broker's true end.
                self.history_end = max(offset, (fetched_high if fetched_high is not None else offset + 1) - 1)
            if offset >= self.history_end:
                return self.finish_history(), []
            return [], []
        if self.not_before_ms is not None:
            if timestamp_ms is not None and timestamp_ms < self.not_before_ms:
                self.stale_skipped += 1
                return [], []
            self.not_before_ms = None
        return [], [item]

    def finish_history(self) -> list[Any]:
        """End the history phase; return the history items in write order."""
        items = [item for _, item in sorted(self.latest_by_key.values(), key=lambda entry: entry[0])]
        self.latest_by_key = {}
        self.phase = Phase.LIVE
        return items


def plan_start(low: int, high: int, history_depth: int, now_ms: int) -> PartitionReadState:
    """Decide where to start reading a newly assigned partition.

    Parameters
    ----------
    low, high : `int`
        Watermarks from ListOffsets (``high`` may be too low on tansu).
    history_depth : `int`
        0 for no history, else how many messages back to look.
    now_ms : `int`
        Current time in ms since the Unix epoch (taken before the watermarks
        were read).

    Returns
    -------
    state : `PartitionReadState`
    """
    if high <= 0 or high <= low:
        # Empty: everything that arrives from now on is new.
        return PartitionReadState(start_offset=OFFSET_BEGINNING if high <= 0 else high)
    if history_depth <= 0:
        return PartitionReadState(start_offset=high, not_before_ms=now_ms)
    start = high - history_depth
    return PartitionReadState(start_offset=start if start > low else low, phase=Phase.HISTORY)


def plan_resume(next_offset: int | None, low: int, high: int, now_ms: int) -> PartitionReadState:
    """Plan a re-assignment (after a rebalance): continue where this reader
    stopped, or, if it never read the partition, read new data only."""
    if next_offset is not None:
        return PartitionReadState(start_offset=next_offset)
    return plan_start(low, high, 0, now_ms)
