"""Every sample of an Archiver's result topics, as a subscriber receives them."""

from __future__ import annotations

__all__ = ["RESULT_TOPICS", "EventLog", "result_remote"]

import functools
from typing import Any

from lsst.ts import salkit

from lsst.ts.salkit.wait import STD_TIMEOUT, wait_until

#: The Archiver's topics that report what happened to each image.
RESULT_TOPICS = (
    "evt_imageRetrievalForArchiving",
    "evt_imageInOODS",
    "evt_imageArchived",
    "evt_imageDelivered",
    "tel_focalPlaneCapture",
)


class EventLog:
    """Collect every sample of the Archiver's result topics (`RESULT_TOPICS`)
    through callbacks on a Remote.

    Parameters
    ----------
    remote : `lsst.ts.salkit.Remote`
        A Remote of the Archiver that reads at least `RESULT_TOPICS` (for
        example from `result_remote`). Its callbacks on those topics are
        replaced.

    Attributes
    ----------
    samples : `dict` [`str`, `list`]
        Samples received, by topic attribute name (``evt_imageArchived``),
        in arrival order.
    """

    def __init__(self, remote: salkit.Remote) -> None:
        self.samples: dict[str, list[Any]] = {name: [] for name in RESULT_TOPICS}
        for name in RESULT_TOPICS:
            getattr(remote, name).callback = functools.partial(self._add, name)

    def _add(self, name: str, data: Any) -> None:
        self.samples[name].append(data)

    def of(self, name: str, obsid: str | None = None) -> list[Any]:
        """Return the samples of a topic so far.

        Parameters
        ----------
        name : `str`
            Topic attribute name, one of `RESULT_TOPICS`.
        obsid : `str` or `None`, optional
            Only the samples about this image.

        Returns
        -------
        samples : `list`
            In arrival order.
        """
        return [s for s in self.samples[name] if obsid is None or s.obsid == obsid]

    async def wait_for(
        self, name: str, count: int, obsid: str | None = None, timeout: float = STD_TIMEOUT
    ) -> list[Any]:
        """Wait until a topic has at least ``count`` samples; return them all.

        Parameters
        ----------
        name : `str`
            Topic attribute name, one of `RESULT_TOPICS`.
        count : `int`
            How many samples to wait for.
        obsid : `str` or `None`, optional
            Count only the samples about this image.
        timeout : `float`, optional
            How long to wait (s).

        Returns
        -------
        samples : `list`
            Every sample of the topic (for ``obsid``), in arrival order.

        Raises
        ------
        TimeoutError
            Raised if fewer than ``count`` samples arrived in time.
        """
        about = f" about {obsid}" if obsid is not None else ""
        try:
            await wait_until(
                lambda: len(self.of(name, obsid)) >= count, timeout, what=f"{count} {name} samples{about}"
            )
        except TimeoutError as e:
            raise TimeoutError(f"{e}: {len(self.of(name, obsid))} arrived") from None
        return self.of(name, obsid)


def result_remote(domain: salkit.Domain, name: str) -> salkit.Remote:
    """Make a read-only Remote of an Archiver that reads only `RESULT_TOPICS`
    (no history).

    Parameters
    ----------
    domain : `lsst.ts.salkit.Domain`
        Domain of the Remote.
    name : `str`
        Archiver component name (``ATArchiver``...).

    Returns
    -------
    remote : `lsst.ts.salkit.Remote`
        The Remote (starting; await its ``start_task``).
    """
    include = [topic.split("_", 1)[1] for topic in RESULT_TOPICS]
    return salkit.Remote(domain, name, readonly=True, include=include, evt_max_history=0)
