"""Destinations behind a network link: an outage waits, it does not fail items.

A destination configured with ``link: <name>`` (e.g. the Base Data Backbone
behind the Summit–Base link) may be unreachable for hours. `is_unreachable`
tells such an error (connection refused or timed out, host or network
unreachable, name not resolved, a local target not mounted) from the errors
that say something about the file (rejected, bad credentials, a checksum
mismatch). `LinkState` is the destination worker's view of its link: the
first unreachable error marks it down (logged once); while it is down the
worker sends one probe at a time, at the destination's capped backoff, and
the failed attempts are given back (they never exhaust ``retry``); the
first transfer that succeeds marks it up again (logged, with the outage's
length) and the backlog drains.
"""

from __future__ import annotations

__all__ = ["LinkState", "is_unreachable"]

import errno
import logging
import socket
import time

import botocore.exceptions
import requests.exceptions

from .config import RetryPolicy
from .errors import DestinationUnreachableError

_UNREACHABLE_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
    }
)

_UNREACHABLE_TYPES: tuple[type[BaseException], ...] = (
    DestinationUnreachableError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    botocore.exceptions.ConnectionError,
    botocore.exceptions.ReadTimeoutError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


def is_unreachable(error: BaseException) -> bool:
    """Does ``error`` (or an error it was raised from) say the destination is unreachable?"""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNREACHABLE_TYPES):
            return True
        if isinstance(current, OSError) and current.errno in _UNREACHABLE_ERRNOS:
            return True
        current = current.__cause__ or current.__context__
    return False


class LinkState:
    """Up or down, and when to probe while down (see module docstring).

    Parameters
    ----------
    destination : `str`
        Destination name (for log lines).
    link : `str`
        Link name.
    retry : `RetryPolicy`
        The destination's backoff: probes are ``retry.delay(n)`` apart after
        the n-th failed probe, at most ``retry.max_delay``.
    log : `logging.Logger`
        Where the outage and its end are logged.
    """

    def __init__(self, destination: str, link: str, retry: RetryPolicy, log: logging.Logger) -> None:
        self.destination = destination
        self.link = link
        self.retry = retry
        self.log = log
        self.down_since: float | None = None
        self.failed_probes = 0
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        """Is the link down (the last transfer found the destination unreachable)?"""
        return self.down_since is not None

    def transfers_allowed(self, free: int, in_flight: int) -> int:
        """How many items to claim now: all ``free`` while up, one probe when due while down."""
        if not self.down:
            return free
        if in_flight or time.monotonic() < self._next_probe:
            return 0
        return min(free, 1)

    def lost(self, reason: str) -> float:
        """A transfer found the destination unreachable; return the delay before its item is due."""
        self.failed_probes += 1
        delay = self.retry.delay(self.failed_probes)
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.log.warning(
                "Destination %s: link %s down (%s); its items wait and are retried, one probe at a time, "
                "at most every %.0f s; an outage fails none of them",
                self.destination,
                self.link,
                reason,
                self.retry.max_delay,
            )
        else:
            self.log.debug(
                "Destination %s: link %s still down (%s); next probe in %.1f s",
                self.destination,
                self.link,
                reason,
                delay,
            )
        self._next_probe = time.monotonic() + delay
        return delay

    def reached(self) -> bool:
        """A transfer reached the destination: the link is up; True if it was down."""
        if self.down_since is None:
            return False
        self.log.info(
            "Destination %s: link %s up again after %.0f s down; draining its backlog",
            self.destination,
            self.link,
            time.monotonic() - self.down_since,
        )
        self.down_since = None
        self.failed_probes = 0
        self._next_probe = 0.0
        return True
