"""What a catch-up pass does with each DAQ image: three sources compared (pure functions).

For every image in the DAQ catalog, catch-up compares what the DAQ holds,
what the ledger records (`LedgerView`) and what the archive destinations'
Butler registries hold (the Data Backbone; ``None`` when they cannot be
asked). `plan_catch_up` sorts the images into a `CatchUpPlan`:

* ``found``: unknown to the ledger, and every detector is already in the
  archive: recorded as archived, never captured again;
* ``archive``: unknown to the ledger (or left unfinished for longer than
  ``stale_after`` by a run that stopped): captured and delivered;
* ``retry``: the ledger shows finally failed parts: they are retried;
* ``redeliver``: the ledger believes the image archived but the archive
  lacks detectors: those files are delivered to it again;
* anything else (archived and present, or in progress now) is left alone.
"""

from __future__ import annotations

__all__ = ["CatchUpPlan", "LedgerView", "oldest", "plan_catch_up"]

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from ..camera import ImageName, InvalidImageNameError


@dataclass(frozen=True)
class LedgerView:
    """What the ledger records of one image, as catch-up needs it.

    Attributes
    ----------
    archived : `bool`
        ``imageArchived`` was decided (whatever its status).
    failed : `bool`
        A capture or a delivery (at the destinations catch-up serves)
        finally failed.
    registered_at : `float`
        When the ledger first recorded the image (Unix seconds).
    detectors : `frozenset` [`str`]
        The detectors the ledger expects.
    """

    archived: bool
    failed: bool
    registered_at: float
    detectors: frozenset[str]


@dataclass(frozen=True)
class CatchUpPlan:
    """One pass's decisions (see module docstring); names in DAQ catalog order."""

    archive: tuple[str, ...] = ()
    retry: tuple[str, ...] = ()
    redeliver: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    found: tuple[str, ...] = ()

    @property
    def backlog(self) -> tuple[str, ...]:
        """Images with work to do (archive, retry, redeliver), in catalog order kept per kind."""
        return (*self.archive, *self.retry, *self.redeliver)

    def __bool__(self) -> bool:
        return bool(self.archive or self.retry or self.redeliver or self.found)


def plan_catch_up(
    daq_images: Mapping[str, Collection[str]],
    ledger: Mapping[str, LedgerView],
    archive: Mapping[str, Collection[str]] | None,
    *,
    now: float,
    stale_after: float,
) -> CatchUpPlan:
    """Sort the DAQ's images into a `CatchUpPlan`.

    Parameters
    ----------
    daq_images : mapping [`str`, collection of `str`]
        Each complete image in the DAQ catalog (in catalog order) → the
        detectors it holds.
    ledger : mapping [`str`, `LedgerView`]
        The ledger's record of those images it knows.
    archive : mapping [`str`, collection of `str`] or `None`
        Image → detectors the archive (Data Backbone) holds; None if the
        archive could not be asked (then it is not compared).
    now : `float`
        The time (Unix seconds), to tell a stalled image from one in progress.
    stale_after : `float`
        Seconds after which an unfinished image nobody finished is taken.
    """
    archive_now: list[str] = []
    retry: list[str] = []
    redeliver: dict[str, tuple[str, ...]] = {}
    found: list[str] = []
    for name, detectors in daq_images.items():
        held = None if archive is None else frozenset(archive.get(name, ()))
        view = ledger.get(name)
        if view is None:
            if held is not None and detectors and held >= frozenset(detectors):
                found.append(name)
            else:
                archive_now.append(name)
        elif view.failed:
            retry.append(name)
        elif view.archived:
            if held is not None:
                missing = sorted(view.detectors - held)
                if missing:
                    redeliver[name] = tuple(missing)
        elif now - view.registered_at > stale_after:
            archive_now.append(name)
    return CatchUpPlan(tuple(archive_now), tuple(retry), redeliver, tuple(found))


def oldest(names: Sequence[str]) -> str:
    """The oldest image name (by day_obs, then sequence number), or blank if none."""
    return min(names, key=lambda name: _age_key(name), default="")


def _age_key(name: str) -> tuple[int, int, str]:
    try:
        parsed = ImageName.parse(name)
    except InvalidImageNameError:
        return (99999999, 0, name)
    return (parsed.day_obs, parsed.seq_num, name)
