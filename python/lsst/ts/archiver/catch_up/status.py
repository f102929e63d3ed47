"""`CatchUpStatus`: what an operator needs to follow catch-up after an outage.

`CatchUpProgress` keeps the times at which the images catch-up took on
were archived, so the rate is measured (images per minute over the last
`RATE_WINDOW` seconds), and builds each `CatchUpStatus` from a pass's
backlog and the ledger's undelivered bytes.
"""

from __future__ import annotations

__all__ = ["RATE_WINDOW", "CatchUpProgress", "CatchUpStatus"]

import collections
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .planning import oldest

RATE_WINDOW = 600.0
"""Seconds over which the catch-up rate is measured."""


@dataclass(frozen=True)
class CatchUpStatus:
    """One ``catchUpStatus`` (see the interface for the fields' meaning).

    ``destinations`` maps each destination (in configuration order) to the
    images and bytes still to deliver there.
    """

    backlog_images: int
    backlog_bytes: float
    destinations: Mapping[str, tuple[int, float]]
    rate: float
    time_to_empty: float
    oldest_missing: str
    archive_reachable: bool


class CatchUpProgress:
    """Measure the catch-up rate and build statuses (see module docstring)."""

    def __init__(self) -> None:
        self._archived: collections.deque[float] = collections.deque()

    def archived(self, when: float) -> None:
        """An image catch-up took on was archived at ``when`` (Unix seconds)."""
        self._archived.append(when)

    def rate(self, now: float) -> float:
        """Images archived per minute over the last `RATE_WINDOW` seconds."""
        while self._archived and self._archived[0] < now - RATE_WINDOW:
            self._archived.popleft()
        return len(self._archived) * 60.0 / RATE_WINDOW

    def status(
        self,
        backlog: Sequence[str],
        undelivered: Mapping[str, tuple[int, int]],
        not_captured: int,
        bytes_per_image: float,
        destinations: Sequence[str],
        *,
        archive_reachable: bool,
        now: float,
    ) -> CatchUpStatus:
        """The status after a pass.

        Parameters
        ----------
        backlog : sequence of `str`
            Images catch-up has work for.
        undelivered : mapping [`str`, `tuple` [`int`, `int`]]
            Destination → (images, bytes) the ledger has not delivered yet.
        not_captured : `int`
            Backlog images not captured yet (their bytes are estimated).
        bytes_per_image : `float`
            The estimate of one image's bytes.
        destinations : sequence of `str`
            The enabled destinations, in configuration order.
        archive_reachable : `bool`
            Whether the archive's registries answered.
        now : `float`
            The time (Unix seconds).
        """
        estimate = not_captured * bytes_per_image
        per_destination = {
            name: (
                undelivered.get(name, (0, 0))[0] + not_captured,
                undelivered.get(name, (0, 0))[1] + estimate,
            )
            for name in destinations
        }
        rate = self.rate(now)
        images = len(backlog)
        if images == 0:
            time_to_empty = 0.0
        elif rate > 0:
            time_to_empty = images / rate * 60.0
        else:
            time_to_empty = -1.0
        return CatchUpStatus(
            backlog_images=images,
            backlog_bytes=sum(size for _, size in per_destination.values()),
            destinations=per_destination,
            rate=rate,
            time_to_empty=time_to_empty,
            oldest_missing=oldest(backlog),
            archive_reachable=archive_reachable,
        )
