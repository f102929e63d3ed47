"""OODS cache cleanup: expire old raws from a Butler repository.

Every pass (`OodsCleaner.run_once`) finds the datasets of the configured
dataset types in the configured RUN collections whose ``ingest_date`` is
older than ``older_than`` seconds, drops those that are also in a TAGGED
collection (someone wants them kept), deletes the files of ``direct``
ingests itself (the datastore does not own them; their JSON sidecars go
too) and prunes the datasets (which also deletes files the datastore owns).

Guards learnt from ctrl_oods: the collection list may not be empty or a
pattern (an empty list would match everything), a missing collection or
dataset type is skipped and reported, a file that cannot be deleted keeps
its dataset for the next pass, and only one cleaner works on a repository at
a time (a named lock in the ledger). ``dry_run`` lists what would go.
"""

from __future__ import annotations

__all__ = ["CleanupCandidate", "CleanupConfig", "CleanupReport", "OodsCleaner"]

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from astropy.time import Time
from lsst.daf.butler import (
    Butler,
    CollectionType,
    DatasetRef,
    MissingCollectionError,
    MissingDatasetTypeError,
)
from lsst.daf.butler.registry import OrphanedRecordError
from lsst.resources import ResourcePath

from ..ledger import Ledger
from .errors import DestinationConfigError

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupConfig:
    """What to expire from an OODS repository.

    Parameters
    ----------
    collections : `tuple` [`str`, ...]
        RUN collections to clean (e.g. ``LSSTCam/raw/all``); must not be
        empty nor contain wildcards.
    older_than : `float`
        Age (seconds since ingest) beyond which datasets go.
    dataset_types : `tuple` [`str`, ...], optional
        Dataset types to consider.
    exclude_dataset_types : `tuple` [`str`, ...], optional
        Dataset types never touched.
    exclude_tagged : `bool`, optional
        Keep datasets that are also in any TAGGED collection.
    interval : `float`, optional
        Seconds between passes of `OodsCleaner.run_periodically`.

    Raises
    ------
    DestinationConfigError
        For an empty or wildcard collection list, or a non-positive age.
    """

    collections: tuple[str, ...]
    older_than: float
    dataset_types: tuple[str, ...] = ("raw",)
    exclude_dataset_types: tuple[str, ...] = ()
    exclude_tagged: bool = True
    interval: float = 3600.0

    def __post_init__(self) -> None:
        if isinstance(self.collections, str) or not self.collections:
            raise DestinationConfigError(
                "OODS cleanup needs an explicit, non-empty list of collections (an empty list would match "
                f"every dataset); got {self.collections!r}"
            )
        for name in self.collections:
            if not name or any(ch in name for ch in "*?[]"):
                raise DestinationConfigError(
                    f"OODS cleanup collection {name!r} must be a plain collection name"
                )
        if not self.older_than > 0:
            raise DestinationConfigError(f"OODS cleanup older_than must be > 0 s, got {self.older_than}")
        if not self.dataset_types:
            raise DestinationConfigError("OODS cleanup needs at least one dataset type")
        if not self.interval > 0:
            raise DestinationConfigError(f"OODS cleanup interval must be > 0 s, got {self.interval}")


@dataclass(frozen=True)
class CleanupCandidate:
    """A dataset that is (or would be) removed."""

    dataset_id: str
    dataset_type: str
    data_id: str
    collection: str
    uri: str
    direct: bool


@dataclass(frozen=True)
class CleanupReport:
    """Result of one cleanup pass.

    Attributes
    ----------
    dry_run : `bool`
        Nothing was deleted.
    cutoff : `float`
        Datasets ingested before this time (Unix s) were candidates.
    candidates : `tuple` [`CleanupCandidate`, ...]
        What goes (or would go).
    kept_tagged : `int`
        Old datasets kept because a TAGGED collection holds them.
    removed_files : `tuple` [`str`, ...]
        Files of direct ingests deleted by the cleaner (sidecars included).
    pruned : `int`
        Datasets removed from the repository.
    skipped : `tuple` [`str`, ...]
        Collections or dataset types that do not exist.
    errors : `tuple` [`str`, ...]
        Per-file problems (their datasets are kept for the next pass).
    locked_by : `str` or `None`
        Another cleaner holds the repository's lock: nothing was done.
    """

    dry_run: bool
    cutoff: float
    candidates: tuple[CleanupCandidate, ...] = ()
    kept_tagged: int = 0
    removed_files: tuple[str, ...] = ()
    pruned: int = 0
    skipped: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=())
    locked_by: str | None = None


class OodsCleaner:
    """Expire old raws from one repository (blocking `run_once`, async `run_periodically`).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        Writeable Butler of the OODS repository.
    config : `CleanupConfig`
        What to clean.
    ledger : `~lsst.ts.archiver.ledger.Ledger`, optional
        Holds the one-cleaner-per-repository lock; without it no lock is
        taken (single cleaner assumed).
    holder : `str`, optional
        Identity of this cleaner in the lock (default host:pid:random).
    log : `logging.Logger`, optional
        Parent logger (e.g. a child of the CSC's log, so that skipped and
        failed passes reach SAL); the cleaner logs to a child of it.
        Default: this module's logger.
    """

    def __init__(
        self,
        butler: Butler,
        config: CleanupConfig,
        *,
        ledger: Ledger | None = None,
        holder: str | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.butler = butler
        self.log = _log if log is None else log.getChild(type(self).__name__)
        self.config = config
        self.ledger = ledger
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        roots = butler.get_datastore_roots()
        self._roots = [root for root in roots.values() if root is not None]
        first = self._roots[0] if self._roots else None
        self.lock_name = f"oods-cleaner:{first}" if first is not None else f"oods-cleaner:{id(butler)}"

    # ------------------------------------------------------------------

    def run_once(self, *, dry_run: bool = False, now: float | None = None) -> CleanupReport:
        """Run one cleanup pass (blocking).

        Parameters
        ----------
        dry_run : `bool`, optional
            Only list the candidates.
        now : `float`, optional
            Current time (Unix s); default now.
        """
        now = time.time() if now is None else now
        cutoff = now - self.config.older_than
        if self.ledger is not None and not dry_run:
            ttl = max(2 * self.config.interval, 600.0)
            if not self.ledger.acquire_lock(self.lock_name, self.holder, ttl=ttl):
                holder = self.ledger.lock_holder(self.lock_name)
                self.log.info("OODS cleanup skipped: %s is cleaning %s", holder, self.lock_name)
                return CleanupReport(dry_run=dry_run, cutoff=cutoff, locked_by=holder or "?")
        skipped: list[str] = []
        refs, collection_of = self._old_refs(cutoff, skipped)
        kept_tagged = 0
        if self.config.exclude_tagged and refs:
            tagged = self._tagged_ids()
            kept = [ref for ref in refs if ref.id in tagged]
            kept_tagged = len(kept)
            refs = [ref for ref in refs if ref.id not in tagged]
        candidates = []
        uris: dict[object, ResourcePath] = {}
        for ref in refs:
            uri = self.butler.getURI(ref)
            uris[ref.id] = uri
            candidates.append(
                CleanupCandidate(
                    dataset_id=str(ref.id),
                    dataset_type=ref.datasetType.name,
                    data_id=str(ref.dataId.required),
                    collection=collection_of[ref.id],
                    uri=str(uri),
                    direct=self._is_direct(uri),
                )
            )
        if dry_run or not refs:
            return CleanupReport(
                dry_run=dry_run,
                cutoff=cutoff,
                candidates=tuple(candidates),
                kept_tagged=kept_tagged,
                skipped=tuple(skipped),
            )
        removed: list[str] = []
        errors: list[str] = []
        to_prune: list[DatasetRef] = []
        for ref, candidate in zip(refs, candidates, strict=True):
            if candidate.direct:
                uri = uris[ref.id]
                try:
                    removed.extend(self._remove_direct(uri))
                except Exception as e:
                    errors.append(f"Cannot delete {uri}: {e}; dataset {ref.id} kept for the next pass")
                    continue
            to_prune.append(ref)
        if to_prune:
            to_prune = self._prune(to_prune, errors)
        self.log.info(
            "OODS cleanup: pruned %d datasets older than %s, deleted %d direct files, kept %d tagged",
            len(to_prune),
            Time(cutoff, format="unix").isot,
            len(removed),
            kept_tagged,
        )
        return CleanupReport(
            dry_run=False,
            cutoff=cutoff,
            candidates=tuple(candidates),
            kept_tagged=kept_tagged,
            removed_files=tuple(removed),
            pruned=len(to_prune),
            skipped=tuple(skipped),
            errors=tuple(errors),
        )

    def _prune(self, refs: list[DatasetRef], errors: list[str]) -> list[DatasetRef]:
        """Prune ``refs`` (registry and datastore); return those pruned.

        One bulk call; if the registry refuses it (``OrphanedRecordError``:
        a dataset still has datastore records), each dataset is pruned on
        its own, so one that cannot be does not keep the others, and it is
        named in ``errors`` for the next pass.
        """
        try:
            self.butler.pruneDatasets(refs, disassociate=True, unstore=True, purge=True)
            return refs
        except OrphanedRecordError as e:
            self.log.warning("OODS cleanup: bulk prune refused (%s); pruning datasets one at a time", e)
        pruned = []
        for ref in refs:
            try:
                self.butler.pruneDatasets([ref], disassociate=True, unstore=True, purge=True)
            except OrphanedRecordError as e:
                errors.append(f"Cannot prune dataset {ref.id} ({ref.dataId.required}): {e}")
                continue
            pruned.append(ref)
        return pruned

    async def run_periodically(self, *, dry_run: bool = False) -> None:
        """Run a pass every ``config.interval`` seconds until cancelled (in a thread)."""
        try:
            while True:
                try:
                    await asyncio.to_thread(self.run_once, dry_run=dry_run)
                except Exception:
                    self.log.exception("OODS cleanup pass failed; next pass in %s s", self.config.interval)
                await asyncio.sleep(self.config.interval)
        finally:
            if self.ledger is not None:
                await asyncio.to_thread(self.ledger.release_lock, self.lock_name, self.holder)

    # ------------------------------------------------------------------

    def _old_refs(self, cutoff: float, skipped: list[str]) -> tuple[list[DatasetRef], dict[object, str]]:
        when = Time(cutoff, format="unix", scale="utc")
        refs: list[DatasetRef] = []
        collection_of: dict[object, str] = {}
        types = [t for t in self.config.dataset_types if t not in self.config.exclude_dataset_types]
        for collection in self.config.collections:
            try:
                self.butler.collections.get_info(collection)
            except MissingCollectionError:
                skipped.append(f"collection {collection} does not exist")
                continue
            for dataset_type in types:
                try:
                    found = self.butler.query_datasets(
                        dataset_type,
                        collections=collection,
                        where="ingest_date < cutoff",
                        bind={"cutoff": when},
                        find_first=False,
                        explain=False,
                    )
                except MissingDatasetTypeError:
                    skipped.append(f"dataset type {dataset_type} does not exist")
                    continue
                for ref in found:
                    if ref.id not in collection_of:
                        collection_of[ref.id] = collection
                        refs.append(ref)
        return refs, collection_of

    def _tagged_ids(self) -> set[object]:
        tagged: set[object] = set()
        names = self.butler.collections.query("*", collection_types={CollectionType.TAGGED})
        types = [t for t in self.config.dataset_types if t not in self.config.exclude_dataset_types]
        for name in names:
            for dataset_type in types:
                try:
                    for ref in self.butler.query_datasets(
                        dataset_type, collections=name, find_first=False, explain=False
                    ):
                        tagged.add(ref.id)
                except MissingDatasetTypeError:
                    continue
        return tagged

    def _is_direct(self, uri: ResourcePath) -> bool:
        return not any(uri.relative_to(root) is not None for root in self._roots)

    @staticmethod
    def _remove_direct(uri: ResourcePath) -> Iterable[str]:
        removed = []
        for target in (uri, uri.updatedExtension(".json")):
            try:
                target.remove()
                removed.append(str(target))
            except FileNotFoundError:
                if target is uri:
                    removed.append(f"{target} (already gone)")
        return removed
