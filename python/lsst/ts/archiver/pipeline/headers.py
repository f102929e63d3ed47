"""`HeaderTracker`: Header Service announcements, bounded waits and fetching.

Headers are fetched under a `~lsst.ts.archiver.pipeline.header_policy.HeaderFetchPolicy`
(allowed schemes, hosts, buckets and file root; timeouts, deadline, size
cap) in the tracker's own bounded thread pool, so a slow Header Service
server delays only the images whose headers it holds. A refused or failed
fetch gives a `FetchedHeader` without text: the file is then written with
the Archiver's own metadata (``HDRSRC = 'Archiver'``, ``HDRNOTE`` = the
problem) and a warning names the image, the URL and the reason.
"""

from __future__ import annotations

__all__ = ["FetchedHeader", "HeaderAnnouncement", "HeaderListener", "HeaderTracker"]

import asyncio
import collections
import concurrent.futures
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .header_fetch import HeaderFetchError, fetch_header_file
from .header_policy import HeaderFetchPolicy, HeaderUrlRefused

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeaderAnnouncement:
    """One ``largeFileObjectAvailable`` of the Header Service.

    Parameters
    ----------
    obsid : `str`
        Image name (the event's ``id``).
    url : `str`
        Where the header file is (file://, http(s)://, s3://).
    checksum : `str`
        MD5 hex digest of the file, or blank.
    received : `float`
        When it arrived (`time.monotonic`).
    """

    obsid: str
    url: str
    checksum: str
    received: float


@dataclass(frozen=True)
class FetchedHeader:
    """The header of an image, or why there is none.

    Parameters
    ----------
    text : `str` or `None`
        The header file's YAML text; None if unavailable.
    source : `str`
        Its URL (blank if none was announced).
    problem : `str` or `None`
        Short reason when ``text`` is None (written as ``HDRNOTE``).
    """

    text: str | None
    source: str = ""
    problem: str | None = None


HeaderListener = Callable[[HeaderAnnouncement], None]
"""Told of every announcement as it is recorded (on the event loop; must not block)."""


class HeaderTracker:
    """Remembers Header Service announcements by image name and fetches headers.

    Announcements may arrive before or after the camera's
    ``endOfImageTelemetry``; the most recent `max_remembered` are kept.
    Each announcement is fetched once: a failed fetch is remembered (and
    not repeated) until the Header Service announces the header again or
    the policy changes.

    Parameters
    ----------
    max_remembered : `int`
        Announcements kept (oldest dropped first).
    policy : `HeaderFetchPolicy`, optional
        What may be fetched and the limits of a fetch; default: nothing is
        allowed until `configure` is called.
    log : `logging.Logger`, optional
        Where to log unusable headers (e.g. a child of the CSC's log, so
        they reach SAL ``logMessage``); default this module's logger.
    """

    def __init__(
        self,
        max_remembered: int = 2000,
        *,
        policy: HeaderFetchPolicy | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.max_remembered = max_remembered
        self.log = log if log is not None else _log
        self._policy = policy if policy is not None else HeaderFetchPolicy()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._announcements: collections.OrderedDict[str, HeaderAnnouncement] = collections.OrderedDict()
        self._failures: dict[str, tuple[HeaderAnnouncement, FetchedHeader]] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._listeners: list[HeaderListener] = []

    @property
    def policy(self) -> HeaderFetchPolicy:
        """The fetch policy in force."""
        return self._policy

    def configure(self, policy: HeaderFetchPolicy) -> None:
        """Fetch under a new policy from now on (e.g. from a new configuration).

        Fetches already running finish under the old one. A new pool size
        takes effect for the next fetch; failures remembered under the old
        policy are forgotten.
        """
        if self._pool is not None and policy.max_in_flight != self._policy.max_in_flight:
            self._pool.shutdown(wait=False)
            self._pool = None
        self._policy = policy
        self._failures.clear()

    def close(self) -> None:
        """Shut the fetch pool down without waiting (running fetches end by their deadline).

        A later fetch starts a new pool.
        """
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._policy.max_in_flight, thread_name_prefix="header-fetch"
            )
        return self._pool

    def announce(self, obsid: str, url: str, checksum: str = "") -> HeaderAnnouncement:
        """Record an announcement (from ``largeFileObjectAvailable``); a repeat replaces it."""
        announcement = HeaderAnnouncement(obsid, url, checksum.strip().lower(), time.monotonic())
        self._announcements[obsid] = announcement
        self._announcements.move_to_end(obsid)
        self._failures.pop(obsid, None)
        while len(self._announcements) > self.max_remembered:
            old, _ = self._announcements.popitem(last=False)
            self._events.pop(old, None)
            self._failures.pop(old, None)
        event = self._events.get(obsid)
        if event is not None:
            event.set()
        for listener in list(self._listeners):
            try:
                listener(announcement)
            except Exception:
                self.log.exception("A listener of Header Service announcements failed for %s", obsid)
        return announcement

    def add_listener(self, listener: HeaderListener) -> None:
        """Tell ``listener`` of every announcement from now on (once, however often added)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: HeaderListener) -> None:
        """Stop telling ``listener`` (nothing happens if it was not listening)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def get(self, obsid: str) -> HeaderAnnouncement | None:
        """The announcement for an image, if any."""
        return self._announcements.get(obsid)

    async def wait(self, obsid: str, timeout: float) -> HeaderAnnouncement | None:
        """Wait up to ``timeout`` seconds for an image's announcement; None if none came."""
        found = self._announcements.get(obsid)
        if found is not None or timeout <= 0:
            return found
        event = self._events.setdefault(obsid, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return None
        finally:
            self._events.pop(obsid, None)
        return self._announcements.get(obsid)

    async def fetch(self, announcement: HeaderAnnouncement) -> FetchedHeader:
        """Fetch an announced header file under the policy and check its MD5.

        Returns
        -------
        header : `FetchedHeader`
            The text, or None with ``problem`` saying why (URL refused,
            timed out, too large, unreadable, checksum mismatch, not UTF-8);
            the reason is also logged as a warning with the image and URL.
        """
        failed = self._failures.get(announcement.obsid)
        if failed is not None and failed[0] == announcement:
            return failed[1]
        header = await self._fetch(announcement)
        if header.text is None and self._announcements.get(announcement.obsid) == announcement:
            self._failures[announcement.obsid] = (announcement, header)
        return header

    async def _fetch(self, announcement: HeaderAnnouncement) -> FetchedHeader:
        try:
            data = await fetch_header_file(announcement.url, self._policy, self._executor())
        except (HeaderUrlRefused, HeaderFetchError) as e:
            return self._unusable(announcement, e.problem, str(e))
        except Exception as e:  # a bug must still end as a flagged file, not a lost image
            return self._unusable(announcement, "header file unreadable", f"unexpected error {e!r}")
        if announcement.checksum:
            digest = hashlib.md5(data).hexdigest()
            if digest != announcement.checksum:
                return self._unusable(
                    announcement,
                    "header checksum mismatch",
                    f"the file has MD5 {digest}, announced {announcement.checksum}",
                )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            return self._unusable(announcement, "header file not UTF-8", f"not UTF-8 text ({e})")
        return FetchedHeader(text, announcement.url)

    def _unusable(self, announcement: HeaderAnnouncement, problem: str, reason: str) -> FetchedHeader:
        self.log.warning(
            "Header of %s from %s not used: %s. Its files get the Archiver's own metadata "
            "(HDRSRC='Archiver', HDRNOTE=%r).",
            announcement.obsid,
            announcement.url,
            reason,
            problem,
        )
        return FetchedHeader(None, announcement.url, problem)

    async def header_for(self, obsid: str, timeout: float) -> FetchedHeader:
        """Wait (bounded) for an image's header and fetch it.

        Returns
        -------
        header : `FetchedHeader`
            The text, or None with ``problem`` = ``"no header after <timeout> s"``
            or the fetch problem.
        """
        announcement = await self.wait(obsid, timeout)
        if announcement is None:
            return FetchedHeader(None, "", f"no header after {timeout:g} s")
        return await self.fetch(announcement)
