"""`HeaderTracker`: Header Service announcements, bounded waits and fetching."""

from __future__ import annotations

__all__ = ["FetchedHeader", "HeaderAnnouncement", "HeaderTracker"]

import asyncio
import collections
import hashlib
import logging
import time
from dataclasses import dataclass

from lsst.resources import ResourcePath

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


class HeaderTracker:
    """Remembers Header Service announcements by image name and fetches headers.

    Announcements may arrive before or after the camera's
    ``endOfImageTelemetry``; the most recent `max_remembered` are kept.

    Parameters
    ----------
    max_remembered : `int`
        Announcements kept (oldest dropped first).
    log : `logging.Logger`, optional
        Where to log unusable headers (e.g. a child of the CSC's log, so
        they reach SAL ``logMessage``); default this module's logger.
    """

    def __init__(self, max_remembered: int = 2000, *, log: logging.Logger | None = None) -> None:
        self.max_remembered = max_remembered
        self.log = log if log is not None else _log
        self._announcements: collections.OrderedDict[str, HeaderAnnouncement] = collections.OrderedDict()
        self._events: dict[str, asyncio.Event] = {}

    def announce(self, obsid: str, url: str, checksum: str = "") -> HeaderAnnouncement:
        """Record an announcement (from ``largeFileObjectAvailable``); a repeat replaces it."""
        announcement = HeaderAnnouncement(obsid, url, checksum.strip().lower(), time.monotonic())
        self._announcements[obsid] = announcement
        self._announcements.move_to_end(obsid)
        while len(self._announcements) > self.max_remembered:
            old, _ = self._announcements.popitem(last=False)
            self._events.pop(old, None)
        event = self._events.get(obsid)
        if event is not None:
            event.set()
        return announcement

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
        """Read an announced header file (in a thread) and check its MD5."""
        try:
            data = await asyncio.to_thread(ResourcePath(announcement.url).read)
        except Exception as e:
            self.log.warning(
                "Could not read the header of %s from %s: %s", announcement.obsid, announcement.url, e
            )
            return FetchedHeader(None, announcement.url, "header file unreadable")
        if announcement.checksum:
            digest = hashlib.md5(data).hexdigest()
            if digest != announcement.checksum:
                self.log.warning(
                    "Header of %s at %s has MD5 %s, announced %s; not used",
                    announcement.obsid,
                    announcement.url,
                    digest,
                    announcement.checksum,
                )
                return FetchedHeader(None, announcement.url, "header checksum mismatch")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.log.warning(
                "Header of %s at %s is not UTF-8 text (%s); not used", announcement.obsid, announcement.url, e
            )
            return FetchedHeader(None, announcement.url, "header file not UTF-8")
        return FetchedHeader(text, announcement.url)

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
