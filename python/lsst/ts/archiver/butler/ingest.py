"""Raw ingest: one batch per exposure, metadata from sidecars, per-file results.

`RawIngester` takes the files of an exposure (ideally all of them at once),
reads each file's JSON sidecar instead of its FITS header, checks the file
(present, the size the sidecar recorded, a FITS signature), syncs the
exposure's ``day_obs``, ``group`` and ``exposure`` records once and ingests
every good file in a single ``butler.ingest`` call into
``<instrument>/raw/all``.

* Dataset ids are deterministic (UUID5 of dataset type, data ID and run), so
  a retry or a replay never makes a second dataset: files already in the
  repository are reported `FileStatus.ALREADY_PRESENT` and left alone.
* A file given with ``replace`` (`RawFile.replace`: it was rewritten, e.g.
  with a late Header Service header) replaces its dataset *in place*: the
  exposure record is updated from the new metadata, the old dataset is
  pruned (``pruneDatasets(purge=True, unstore=True)``) and the new file is
  ingested under the same deterministic id (`FileStatus.REPLACED`). With
  ``direct`` ingest (the datastore never owns the file) both steps are one
  Butler transaction, so readers never miss the dataset; with the modes in
  which the datastore owns its copy they are two steps, because pruning
  deletes that copy and a rolled-back prune would leave a dataset without
  its file: a failure between them leaves the dataset absent until the
  retry ingests it.
* A file whose metadata cannot be had (no sidecar and an unreadable header,
  wrong size, not FITS) is reported `FileStatus.METADATA_FAILURE`; the others
  are still ingested.
* If the batch ingest fails, the files are ingested one by one so that only
  the culprits are reported `FileStatus.INGEST_FAILURE`.
* ``copy`` ingest of local files on the same file system as the datastore
  root becomes ``hardlink`` (``link_copies``, the default): a DBB
  repository next to its buffer gets the buffer's inode, not one more
  copy of every byte. Safe because no file is ever written in place (the
  Archiver writes new files under a temporary name and renames them), and
  deleting one name (pruning, cleanup) leaves the others. If the link is
  refused the batch is copied.

Calls block (database and file I/O); the CSC runs them in a thread. One
ingester serializes its own calls.
"""

from __future__ import annotations

__all__ = [
    "TRANSFER_MODES",
    "FileResult",
    "FileStatus",
    "IngestReport",
    "RawFile",
    "RawIngester",
    "is_registry_unavailable",
]

import contextlib
import enum
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy
from lsst.daf.butler import (
    Butler,
    DataCoordinate,
    DatasetIdGenEnum,
    DatasetRef,
    DatasetType,
    DimensionRecord,
    FileDataset,
)
from lsst.resources import ResourcePath, ResourcePathExpression

from ..metadata import (
    RawSidecar,
    SidecarError,
    file_checksum,
    make_sidecar,
    parse_checksum,
    read_sidecar,
    sidecar_path_for,
)
from .errors import RegistryUnavailableError
from .formatter import RawFitsFormatter
from .instrument import register_instrument, register_physical_filter
from .records import ExposureRecords, exposure_records
from .repository import ensure_raw_dataset_type
from .storage import raw_run

_log = logging.getLogger(__name__)

TRANSFER_MODES = frozenset({"direct", "copy", "move", "link", "hardlink", "symlink", "relsymlink", "auto"})
"""Transfer modes `RawIngester` accepts (``direct`` for OODS, ``copy`` for the DBB)."""

_FITS_SIGNATURE = b"SIMPLE  ="


def is_registry_unavailable(error: BaseException) -> bool:
    """Tell whether an exception (or one it was raised from) means the
    registry database is unreachable or locked, i.e. worth a later retry.

    Parameters
    ----------
    error : `BaseException`
        The exception.

    Returns
    -------
    unavailable : `bool`
        `True` for SQLAlchemy operational/interface errors and invalidated
        connections anywhere in the ``__cause__``/``__context__`` chain.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RegistryUnavailableError | sqlalchemy.exc.OperationalError):
            return True
        if isinstance(current, sqlalchemy.exc.InterfaceError):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def _registry_errors(butler: Butler) -> Iterator[None]:
    try:
        yield
    except RegistryUnavailableError:
        raise
    except Exception as e:
        if is_registry_unavailable(e):
            raise RegistryUnavailableError(
                f"The registry of {butler} is unreachable or locked ({e}); retry later: ingest is idempotent"
            ) from e
        raise


class FileStatus(enum.Enum):
    """Outcome of one file's ingest.

    The integer values are the ``imageInOODS`` status codes where one
    exists.
    """

    INGESTED = 0
    """Newly ingested."""
    ALREADY_PRESENT = 10
    """Already in the repository with the same dataset id: nothing done."""
    REPLACED = 11
    """Replaced an existing dataset in place (same dataset id, new file and records)."""
    INGEST_FAILURE = 1
    """The registry or datastore refused the file."""
    METADATA_FAILURE = 2
    """The file's metadata could not be read or is inconsistent, or the file is missing/corrupt."""

    @property
    def ok(self) -> bool:
        """True if the file is in the repository after the call."""
        return self in (FileStatus.INGESTED, FileStatus.ALREADY_PRESENT, FileStatus.REPLACED)


@dataclass(frozen=True)
class RawFile:
    """A raw file to ingest.

    Parameters
    ----------
    path : `str`, `os.PathLike` or `lsst.resources.ResourcePath`
        Location of the FITS file (local path or URI).
    sidecar : `RawSidecar` or `None`, optional
        Its metadata if already in memory; otherwise it is read from the
        sidecar file next to it, or, failing that, from the FITS header.
    replace : `bool`, optional
        The file was rewritten: replace its dataset (same dataset id) and
        update the exposure record from its metadata, instead of leaving an
        existing dataset alone.
    """

    path: ResourcePathExpression
    sidecar: RawSidecar | None = None
    replace: bool = False


@dataclass(frozen=True)
class FileResult:
    """What happened to one file.

    Attributes
    ----------
    path : `str`
        The file's URI as given.
    status : `FileStatus`
        Outcome.
    message : `str`
        Why it failed (empty on success).
    instrument, exposure, detector : `str`, `int`, `int` or `None`
        The data ID, where known.
    obs_id : `str` or `None`
        Image name, where known.
    dataset_id : `uuid.UUID` or `None`
        The dataset id, where known.
    """

    path: str
    status: FileStatus
    message: str = ""
    instrument: str | None = None
    exposure: int | None = None
    detector: int | None = None
    obs_id: str | None = None
    dataset_id: uuid.UUID | None = None

    @property
    def ok(self) -> bool:
        """True if the file is in the repository."""
        return self.status.ok


@dataclass(frozen=True)
class IngestReport:
    """Results of one `RawIngester.ingest` call.

    Attributes
    ----------
    files : `tuple` [`FileResult`, ...]
        One result per input file, in input order.
    duration : `float`
        Wall time of the call in seconds.
    timings : `dict` [`str`, `float`]
        Seconds spent in ``metadata``, ``records`` and ``ingest``.
    """

    files: tuple[FileResult, ...]
    duration: float
    timings: dict[str, float] = field(default_factory=dict)

    def with_status(self, *statuses: FileStatus) -> tuple[FileResult, ...]:
        """Results with one of the given statuses."""
        return tuple(r for r in self.files if r.status in statuses)

    @property
    def ingested(self) -> tuple[FileResult, ...]:
        """Newly ingested files."""
        return self.with_status(FileStatus.INGESTED)

    @property
    def already_present(self) -> tuple[FileResult, ...]:
        """Files that were already in the repository."""
        return self.with_status(FileStatus.ALREADY_PRESENT)

    @property
    def replaced(self) -> tuple[FileResult, ...]:
        """Files whose dataset was replaced in place."""
        return self.with_status(FileStatus.REPLACED)

    @property
    def failed(self) -> tuple[FileResult, ...]:
        """Files that are not in the repository."""
        return tuple(r for r in self.files if not r.ok)

    @property
    def ok(self) -> bool:
        """True if every file is in the repository."""
        return not self.failed


@dataclass
class _Item:
    index: int
    uri: ResourcePath
    given: str
    sidecar: RawSidecar | None = None
    replace: bool = False
    result: FileResult | None = None
    ref: DatasetRef | None = None

    def fail(self, status: FileStatus, message: str) -> None:
        sidecar = self.sidecar
        self.result = FileResult(
            path=self.given,
            status=status,
            message=message,
            instrument=sidecar.instrument if sidecar else None,
            exposure=sidecar.exposure_id if sidecar else None,
            detector=sidecar.detector_num if sidecar else None,
            obs_id=sidecar.observation_id if sidecar else None,
            dataset_id=self.ref.id if self.ref else None,
        )

    def succeed(self, status: FileStatus) -> None:
        self.fail(status, "")


class RawIngester:
    """Ingest raw files into a Butler repository, one batch per exposure.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        Writeable Butler (e.g. from `create_repository`).
    transfer : `str`, optional
        ``direct`` (the repository points at the file where it is; OODS) or
        ``copy`` (the file is stored under the repository root, hard-linked
        when on its file system, see ``link_copies``; DBB), or
        another of `TRANSFER_MODES`.
    check_files : `bool`, optional
        Check each file's name and size against its sidecar and its FITS
        signature before ingest (one small read per file).
    verify_checksums : `bool`, optional
        Also recompute each local file's checksum and compare it with the
        sidecar's (reads every byte; files whose sidecar has no checksum
        pass).
    update_exposure_records : `bool`, optional
        Overwrite an existing exposure record that differs (a corrected
        header); otherwise such files fail with the conflict. Files given
        with `RawFile.replace` always update it.
    link_copies : `bool`, optional
        With ``transfer="copy"``, hard-link local files that are on the
        datastore's file system instead of copying them (default True).

    Raises
    ------
    ValueError
        Raised for an unknown transfer mode.
    """

    def __init__(
        self,
        butler: Butler,
        *,
        transfer: str = "direct",
        check_files: bool = True,
        verify_checksums: bool = False,
        update_exposure_records: bool = False,
        link_copies: bool = True,
    ) -> None:
        if transfer not in TRANSFER_MODES:
            raise ValueError(f"Unknown transfer mode {transfer!r}; use one of {sorted(TRANSFER_MODES)}")
        self.butler = butler
        self.transfer = transfer
        self.check_files = check_files
        self.verify_checksums = verify_checksums
        self.update_exposure_records = update_exposure_records
        self.link_copies = link_copies
        self._datastore_device: int | None = None
        self._lock = threading.Lock()
        self._dataset_type: DatasetType | None = None
        self._instruments: dict[str, dict[int, DimensionRecord]] = {}
        self._instrument_records: dict[str, DimensionRecord] = {}
        self._filters: dict[tuple[str, str], DimensionRecord] = {}

    # ------------------------------------------------------------------
    # public API

    def ingest(self, files: Iterable[RawFile | ResourcePathExpression]) -> IngestReport:
        """Ingest files; each exposure among them is one batch.

        Parameters
        ----------
        files : `~collections.abc.Iterable`
            `RawFile` objects or plain paths/URIs (their sidecars are read
            from next to them). A `RawFile` with ``replace`` replaces its
            dataset in place (see the module docstring).

        Returns
        -------
        report : `IngestReport`
            One `FileResult` per file, in input order. Failures of files or
            exposures are reported there, never raised.

        Raises
        ------
        RegistryUnavailableError
            Raised if the registry database cannot be reached or is locked;
            nothing is lost: retry the same call later (already ingested
            files then come back `FileStatus.ALREADY_PRESENT`).
        """
        start = time.perf_counter()
        with self._lock, _registry_errors(self.butler):
            items = [self._item(i, f) for i, f in enumerate(files)]
            timings = {"metadata": 0.0, "records": 0.0, "ingest": 0.0}
            t0 = time.perf_counter()
            for item in items:
                self._load_metadata(item)
            timings["metadata"] = time.perf_counter() - t0
            groups: dict[tuple[str, int], list[_Item]] = {}
            for item in items:
                if item.result is None and item.sidecar is not None:
                    groups.setdefault((item.sidecar.instrument, item.sidecar.exposure_id), []).append(item)
            for group in groups.values():
                self._ingest_exposure(group, timings)
        results = tuple(item.result for item in items if item.result is not None)
        assert len(results) == len(items)
        return IngestReport(files=results, duration=time.perf_counter() - start, timings=timings)

    # ------------------------------------------------------------------
    # metadata

    @staticmethod
    def _item(index: int, entry: RawFile | ResourcePathExpression) -> _Item:
        raw = entry if isinstance(entry, RawFile) else RawFile(entry)
        given = str(raw.path)
        uri = ResourcePath(raw.path, forceAbsolute=True)
        return _Item(index, uri, given, sidecar=raw.sidecar, replace=raw.replace)

    def _load_metadata(self, item: _Item) -> None:
        try:
            if item.sidecar is None:
                item.sidecar = self._read_metadata(item.uri)
            if self.check_files:
                self._check_file(item.uri, item.sidecar)
            if self.verify_checksums:
                self._verify_checksum(item.uri, item.sidecar)
        except Exception as e:  # reported per file, never swallowed
            item.fail(FileStatus.METADATA_FAILURE, str(e) or repr(e))

    @staticmethod
    def _read_metadata(uri: ResourcePath) -> RawSidecar:
        if uri.isLocal:
            path = sidecar_path_for(uri.ospath)
            try:
                return read_sidecar(path)
            except FileNotFoundError:
                pass
        else:
            sidecar_uri = uri.updatedExtension(".json")
            if sidecar_uri.exists():
                return RawSidecar.from_json(sidecar_uri.read(), source=f"sidecar {sidecar_uri}")
        # No sidecar: fall back to the header (slow path, same result).
        from astropy.io import fits

        with uri.as_local() as local:
            try:
                header = fits.getheader(local.ospath, 0)
            except FileNotFoundError:
                raise FileNotFoundError(f"Raw file {uri} does not exist") from None
            except Exception as e:
                raise SidecarError(f"Raw file {uri} has no sidecar and its header cannot be read: {e}") from e
            size = os.stat(local.ospath).st_size
        return make_sidecar(header, filename=uri.basename(), size=size)

    @staticmethod
    def _verify_checksum(uri: ResourcePath, sidecar: RawSidecar) -> None:
        if sidecar.checksum is None:
            return
        algorithm, _ = parse_checksum(sidecar.checksum)
        with uri.as_local() as local:
            actual = file_checksum(local.ospath, algorithm)
        if parse_checksum(actual) != parse_checksum(sidecar.checksum):
            raise SidecarError(
                f"Raw file {uri} has checksum {actual} but its sidecar records {sidecar.checksum}: "
                "the file is corrupt; rewrite it from the DAQ"
            )

    @staticmethod
    def _check_file(uri: ResourcePath, sidecar: RawSidecar) -> None:
        if sidecar.filename != uri.basename():
            raise SidecarError(
                f"The sidecar given for {uri} describes {sidecar.filename!r}: a sidecar of another file"
            )
        if uri.isLocal:
            try:
                with open(uri.ospath, "rb") as stream:
                    size = os.fstat(stream.fileno()).st_size
                    signature = stream.read(len(_FITS_SIGNATURE))
            except FileNotFoundError:
                raise FileNotFoundError(f"Raw file {uri.ospath} does not exist") from None
        else:
            if not uri.exists():
                raise FileNotFoundError(f"Raw file {uri} does not exist")
            size = uri.size()
            signature = uri.read(size=len(_FITS_SIGNATURE))
        if size != sidecar.size:
            raise SidecarError(
                f"Raw file {uri} has {size} bytes but its sidecar records {sidecar.size}: the file is "
                "truncated or was rewritten; rewrite the file and its sidecar"
            )
        if signature != _FITS_SIGNATURE:
            raise SidecarError(f"Raw file {uri} does not start with a FITS primary header (corrupt file)")

    # ------------------------------------------------------------------
    # registry

    def _raw_type(self) -> DatasetType:
        if self._dataset_type is None:
            self._dataset_type = ensure_raw_dataset_type(self.butler)
        return self._dataset_type

    def _detectors(self, instrument: str) -> dict[int, DimensionRecord]:
        detectors = self._instruments.get(instrument)
        if detectors is None:
            register_instrument(self.butler, instrument)
            self.butler.collections.register(raw_run(instrument))
            registry = self.butler.registry
            detectors = {
                int(r.id): r for r in registry.queryDimensionRecords("detector", instrument=instrument)
            }
            self._instrument_records[instrument] = next(
                iter(registry.queryDimensionRecords("instrument", instrument=instrument))
            )
            self._instruments[instrument] = detectors
        return detectors

    def _physical_filter(self, instrument: str, name: str) -> DimensionRecord:
        key = (instrument, name)
        record = self._filters.get(key)
        if record is None:
            register_physical_filter(self.butler, instrument, name)
            record = next(
                iter(
                    self.butler.registry.queryDimensionRecords(
                        "physical_filter", instrument=instrument, physical_filter=name
                    )
                )
            )
            self._filters[key] = record
        return record

    def _sync_exposure(self, records: ExposureRecords, *, update: bool) -> dict[str, DimensionRecord]:
        registry = self.butler.registry
        with registry.transaction():
            registry.syncDimensionData("day_obs", records.day_obs)
            registry.syncDimensionData("group", records.group)
            registry.syncDimensionData("exposure", records.exposure, update=update)
        universe = self.butler.dimensions
        return {
            "day_obs": universe["day_obs"].RecordClass(**records.day_obs),
            "group": universe["group"].RecordClass(**records.group),
            "exposure": universe["exposure"].RecordClass(**records.exposure),
        }

    # ------------------------------------------------------------------
    # one exposure

    def _ingest_exposure(self, items: list[_Item], timings: dict[str, float]) -> None:
        t0 = time.perf_counter()
        # A rewritten file's metadata is the new truth of the exposure's records.
        items = sorted(items, key=lambda item: not item.replace)
        replacing = items[0].replace
        first = items[0].sidecar
        assert first is not None
        instrument, exposure = first.instrument, first.exposure_id
        try:
            records = exposure_records(first.observation_info)
        except Exception as e:
            for item in items:
                item.fail(FileStatus.METADATA_FAILURE, f"Metadata of exposure {first.observation_id}: {e}")
            return
        try:
            detectors = self._detectors(instrument)
            filter_record = self._physical_filter(instrument, first.physical_filter)
            exposure_recs = self._sync_exposure(records, update=self.update_exposure_records or replacing)
            dataset_type = self._raw_type()
        except Exception as e:
            if is_registry_unavailable(e):
                raise
            for item in items:
                item.fail(FileStatus.INGEST_FAILURE, f"Cannot register exposure {first.observation_id}: {e}")
            timings["records"] += time.perf_counter() - t0
            return

        run = raw_run(instrument)
        universe = self.butler.dimensions
        common = {
            "instrument": self._instrument_records[instrument],
            "physical_filter": filter_record,
            "band": universe["band"].RecordClass(name=filter_record.band),
            **exposure_recs,
        }
        candidates: list[_Item] = []
        seen: dict[int, _Item] = {}
        for item in items:
            sidecar = item.sidecar
            assert sidecar is not None
            problem = self._inconsistency(first, sidecar)
            detector = detectors.get(sidecar.detector_num)
            if problem is None and detector is None:
                problem = f"{instrument} has no detector {sidecar.detector_num}"
            if problem is None and sidecar.detector_num in seen:
                problem = f"detector {sidecar.detector_num} also given as {seen[sidecar.detector_num].given}"
            if problem is not None:
                item.fail(FileStatus.METADATA_FAILURE, f"Raw file {item.given}: {problem}")
                continue
            seen[sidecar.detector_num] = item
            data_id = DataCoordinate.standardize(
                instrument=instrument, exposure=exposure, detector=sidecar.detector_num, universe=universe
            ).expanded({**common, "detector": detector})
            item.ref = DatasetRef(
                dataset_type, data_id, run=run, id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN
            )
            candidates.append(item)
        existing = self._existing_ids(instrument, exposure, run) if candidates else set()
        to_ingest = []
        to_replace = []
        for item in candidates:
            assert item.ref is not None
            if item.replace:
                to_replace.append(item)
            elif item.ref.id in existing:
                item.succeed(FileStatus.ALREADY_PRESENT)
            else:
                to_ingest.append(item)
        t1 = time.perf_counter()
        timings["records"] += t1 - t0
        key = (instrument, exposure, run)
        if to_ingest:
            self._ingest_batch(to_ingest, key)
        if to_replace:
            self._replace_batch(to_replace, key)
        timings["ingest"] += time.perf_counter() - t1

    @staticmethod
    def _inconsistency(first: RawSidecar, other: RawSidecar) -> str | None:
        for name in ("observation_id", "day_obs", "physical_filter"):
            if getattr(first, name) != getattr(other, name):
                return (
                    f"{name} {getattr(other, name)!r} differs from {getattr(first, name)!r} of "
                    f"{first.filename} in the same exposure"
                )
        return None

    def _existing_ids(self, instrument: str, exposure: int, run: str) -> set[uuid.UUID]:
        refs = self.butler.query_datasets(
            self._raw_type(),
            collections=run,
            instrument=instrument,
            exposure=exposure,
            find_first=False,
            explain=False,
        )
        return {ref.id for ref in refs}

    def _ingest_batch(self, items: Sequence[_Item], key: tuple[str, int, str]) -> None:
        """Ingest a batch; on failure keep what another writer ingested meanwhile
        and retry the rest, down to single files, so only culprits fail."""
        try:
            self._butler_ingest(items)
        except Exception as e:
            if is_registry_unavailable(e):
                raise
            error = e
        else:
            for item in items:
                item.succeed(FileStatus.INGESTED)
            return
        existing = self._existing_ids(*key)
        remaining = []
        for item in items:
            assert item.ref is not None
            if item.ref.id in existing:
                item.succeed(FileStatus.ALREADY_PRESENT)  # a concurrent writer was first
            else:
                remaining.append(item)
        if not remaining:
            return
        if len(remaining) < len(items):
            self._ingest_batch(remaining, key)
        elif len(items) == 1:
            items[0].fail(FileStatus.INGEST_FAILURE, f"Ingest of {items[0].given} failed: {error}")
        else:
            _log.warning("Batch ingest of %d files failed (%s); retrying one by one", len(items), error)
            for item in items:
                self._ingest_batch([item], key)

    def _replace_batch(
        self, items: Sequence[_Item], key: tuple[str, int, str], replaced: frozenset[uuid.UUID] = frozenset()
    ) -> None:
        """Replace the datasets of rewritten files in place (same ids); on
        failure retry one by one, so only culprits fail.

        ``replaced``: ids of datasets a failed batch already pruned.
        """
        present = self._existing_ids(*key)
        old = [item.ref for item in items if item.ref is not None and item.ref.id in present]
        replaced = replaced | {ref.id for ref in old}
        try:
            if self.transfer == "direct":
                # The datastore does not own direct files: pruning leaves them,
                # and one transaction swaps the datasets for every reader.
                with self.butler.transaction():
                    self._prune(old)
                    self._butler_ingest(items)
            else:
                # Pruning deletes the datastore's copy, which a rollback would
                # not bring back: commit the prune, then ingest the new file.
                self._prune(old)
                self._butler_ingest(items)
        except Exception as e:
            if is_registry_unavailable(e):
                raise
            if len(items) == 1:
                items[0].fail(FileStatus.INGEST_FAILURE, f"Replacing {items[0].given} failed: {e}")
                return
            _log.warning("Replacing %d files failed (%s); retrying one by one", len(items), e)
            for item in items:
                self._replace_batch([item], key, replaced)
            return
        for item in items:
            assert item.ref is not None
            item.succeed(FileStatus.REPLACED if item.ref.id in replaced else FileStatus.INGESTED)

    def _prune(self, refs: Sequence[DatasetRef]) -> None:
        if refs:
            self.butler.pruneDatasets(refs, disassociate=True, unstore=True, purge=True)

    def _butler_ingest(self, items: Sequence[_Item]) -> None:
        datasets = []
        for item in items:
            assert item.ref is not None
            datasets.append(FileDataset(path=item.uri, refs=[item.ref], formatter=RawFitsFormatter))
        transfer = self._transfer_for(items)
        kwargs: dict[str, Any] = {"transfer": transfer, "skip_existing": True}
        try:
            self.butler.ingest(*datasets, record_validation_info=True, **kwargs)
        except Exception as e:
            if transfer != "hardlink" or is_registry_unavailable(e):
                raise
            _log.info("Hard-linking %d files into the repository failed (%s); copying them", len(items), e)
            kwargs["transfer"] = "copy"
            self.butler.ingest(*datasets, record_validation_info=True, **kwargs)

    def _transfer_for(self, items: Sequence[_Item]) -> str:
        """The transfer mode for a batch: ``hardlink`` for a ``copy`` of local
        files on the datastore's file system, else the configured one."""
        if self.transfer != "copy" or not self.link_copies:
            return self.transfer
        device = self._datastore_file_system()
        if device is None:
            return self.transfer
        for item in items:
            if not item.uri.isLocal:
                return self.transfer
            try:
                if os.stat(item.uri.ospath).st_dev != device:
                    return self.transfer
            except OSError:
                return self.transfer
        return "hardlink"

    def _datastore_file_system(self) -> int | None:
        """Device of the (single, local) datastore root, or None."""
        if self._datastore_device is None:
            roots = [root for root in self.butler.get_datastore_roots().values() if root is not None]
            if len(roots) != 1 or not roots[0].isLocal:
                return None
            path = os.path.abspath(roots[0].ospath)
            while not os.path.exists(path) and os.path.dirname(path) != path:
                path = os.path.dirname(path)  # the root is made on the first ingest
            self._datastore_device = os.stat(path).st_dev
        return self._datastore_device
