"""`ArchiveInventory`: which raws the archive (the Data Backbone's Butler registry) holds.

Catch-up's third source. The archive destinations (role ``dbb``, or every
destination if none has that role) that ingest into a Butler repository
are asked, by obsid, which detectors' ``raw`` datasets they hold in the
instrument's raw RUN; an image counts as held where every such destination
has it. A registry that cannot be reached (the Base behind a link that is
down) makes the inventory unknown for that pass: catch-up then compares the
DAQ and the ledger only. Blocking (Butler queries): call it in a thread.
"""

from __future__ import annotations

__all__ = ["ArchiveInventory", "InventoryUnavailableError"]

import logging
from collections.abc import Collection, Sequence

from lsst.daf.butler import Butler

from ..butler import open_repository, raw_run
from ..camera import Camera
from ..delivery import DestinationConfig

_log = logging.getLogger(__name__)

QUERY_CHUNK = 500
"""Most obsids in one registry query."""


class InventoryUnavailableError(RuntimeError):
    """An archive registry could not be asked; the message says which and why."""


class ArchiveInventory:
    """Ask the archive destinations' Butler registries what they hold.

    Parameters
    ----------
    destinations : sequence of `~lsst.ts.archiver.delivery.DestinationConfig`
        The archive destinations; those without a Butler are not asked.
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera (instrument name, and detector numbers to the
        Archiver's detector names: LATISS's one is ``RXX_S00`` in obs_lsst).
    """

    def __init__(self, destinations: Sequence[DestinationConfig], camera: Camera) -> None:
        self.destinations = tuple(d for d in destinations if d.butler is not None)
        self.instrument = camera.name
        self._names = {d.id: d.name for d in camera.detectors}
        self._butlers: dict[str, Butler] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the destinations asked."""
        return tuple(d.name for d in self.destinations)

    def held(self, obsids: Collection[str]) -> dict[str, frozenset[str]] | None:
        """Image → detector names (``RNN_SNN``) held by every archive destination asked.

        A destination that takes only some detectors (its ``detectors``
        selection) is counted as holding the others.

        Returns None if no destination can be asked (none has a Butler).

        Raises
        ------
        InventoryUnavailableError
            If a registry cannot be reached or queried.
        """
        if not self.destinations:
            return None
        names = sorted(set(obsids))
        result: dict[str, frozenset[str]] | None = None
        for destination in self.destinations:
            at_destination = self._held_at(destination, names)
            if result is None:
                result = at_destination
            else:
                result = {
                    name: result[name] & at_destination[name]
                    for name in result.keys() & at_destination.keys()
                    if result[name] & at_destination[name]
                }
        return result

    def close(self) -> None:
        """Release the registries' connections."""
        butlers, self._butlers = self._butlers, {}
        for butler in butlers.values():
            butler.close()

    def _held_at(self, destination: DestinationConfig, names: Sequence[str]) -> dict[str, frozenset[str]]:
        assert destination.butler is not None
        held: dict[str, set[str]] = {}
        try:
            butler = self._butler(destination)
            for start in range(0, len(names), QUERY_CHUNK):
                refs = butler.query_datasets(
                    "raw",
                    collections=raw_run(self.instrument),
                    instrument=self.instrument,
                    where="exposure.obs_id IN (names)",
                    bind={"names": tuple(names[start : start + QUERY_CHUNK])},
                    with_dimension_records=True,
                    explain=False,
                    limit=None,
                )
                for ref in refs:
                    records = ref.dataId.records
                    exposure, detector = records["exposure"], records["detector"]
                    assert exposure is not None and detector is not None
                    name = self._names.get(int(detector.id))
                    if name is not None:
                        held.setdefault(str(exposure.obs_id), set()).add(name)
        except Exception as e:
            self._forget(destination.name)
            raise InventoryUnavailableError(
                f"Cannot ask the Butler registry of {destination.name} ({destination.butler.repo}) "
                f"which raws it holds: {e}"
            ) from e
        # A destination that does not take some detectors (its selection) lacks nothing for them.
        untaken = {
            n for n in self._names.values() if not destination.selection.takes_detector(self.instrument, n)
        }
        if untaken:
            for name in names:
                held.setdefault(name, set()).update(untaken)
        return {name: frozenset(detectors) for name, detectors in held.items()}

    def _butler(self, destination: DestinationConfig) -> Butler:
        butler = self._butlers.get(destination.name)
        if butler is None:
            assert destination.butler is not None
            butler = open_repository(destination.butler.repo, writeable=False)
            self._butlers[destination.name] = butler
        return butler

    def _forget(self, name: str) -> None:
        butler = self._butlers.pop(name, None)
        if butler is not None:
            try:
                butler.close()
            except Exception:
                _log.debug("Closing the Butler of %s failed", name, exc_info=True)
