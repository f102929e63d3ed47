"""What the fault-injection tests share: an Archiver's roots under one
directory, the checks that nothing was lost, duplicated or written elsewhere,
a real tmpfs, the camera's and Header Service's events, and an observer of
what the operator sees (``logMessage``, ``errorCode``, ``summaryState``,
``archiverHealth``).

Every test gives its Archiver the roots ``tmp_path/"roots"/...`` (`Site`) and
runs with its working directory at ``tmp_path/"cwd"`` (see conftest.py), so
`assert_confined` can tell a file written where it should not be: anything
in ``tmp_path`` outside the configured roots (relative paths included).

`assert_archived_once` is the conservation check of every row: each expected
detector file is written once in staging, delivered once to every
destination, with the staging file's MD5 at the far end, in the ledger and
in each Butler repository's artifact, and each Butler repository holds each
expected dataset exactly once and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import sqlite3
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from lsst.daf.butler import Butler
from lsst.resources import ResourcePath
from lsst.ts import salkit

from lsst.ts.archiver.camera import Camera, ImageName, get_camera
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.ledger import MANIFEST_ITEM, CaptureState, DeliveryStage, Ledger
from lsst.ts.archiver.local_config import merge_settings
from lsst.ts.archiver.metadata import file_checksum
from lsst.ts.archiver.testing import wait_until, write_config_dir

DAY_OBS = 20261123
"""The day_obs of every image name of the suite (fixed: no dependence on today)."""

GENERATOR = PixelGenerator(cosmic_rays=0, saturated_spots=0)
"""Pixels of the DAQ images (plain, quick to generate)."""

DESTINATIONS = ("oods", "dbb")
"""The destinations of `Site` in configuration order (``archiverHealth`` slots 0, 1)."""

OODS_SLOT, DBB_SLOT = DESTINATIONS.index("oods"), DESTINATIONS.index("dbb")
"""Slots of the destinations in ``archiverHealth.queueDepth`` and ``failedItems``."""

#: Quick, short retry budget of every destination: 3 attempts within ~1 s.
QUICK_RETRY = {"max_attempts": 3, "initial_delay": 0.2, "max_delay": 1.0, "multiplier": 2.0}

#: Settings of every fault test's Archiver (short waits, one capture process).
BASE_SETTINGS: dict[str, Any] = {
    "workers": 1,
    "capture_attempts": 3,
    "daq": {"wait_timeout": 2.0},
    "staging": {"min_free_space": 0.001},
    "header_service": {"wait_timeout": 1.0, "fetch_timeout": 1.0},
}


def image_name(camera: Camera, seq_num: int) -> str:
    """An image name of the camera on `DAY_OBS` (``AT_O_20261123_000042``)."""
    return f"{camera.camera_code}_O_{DAY_OBS}_{seq_num:06d}"


# ---------------------------------------------------------------------- the roots


@dataclasses.dataclass(frozen=True)
class Site:
    """An Archiver whose every configured path is under ``tmp_path/"roots"``.

    Attributes
    ----------
    tmp_path : `pathlib.Path`
        The test's directory (`assert_confined` walks it).
    component : `str`
        ``ATArchiver``, ``CCArchiver`` or ``MTArchiver``.
    """

    tmp_path: Path
    component: str = "ATArchiver"

    @property
    def camera(self) -> Camera:
        return get_camera(self.component)

    @property
    def instrument(self) -> str:
        return self.camera.name

    @property
    def root(self) -> Path:
        return self.tmp_path / "roots"

    @property
    def daq(self) -> Path:
        return self.root / "daq"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def headers(self) -> Path:
        """Header files the test serves (under the default ``file_root``, the parent of ``daq``)."""
        return self.root / "headers"

    @property
    def inputs(self) -> Path:
        """Other files of the test's own (e.g. a ledger backup)."""
        return self.root / "inputs"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite3"

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.ledger_path}"

    def target(self, destination: str) -> Path:
        """The local target directory of a destination."""
        return self.root / {"oods": "oods", "dbb": "dbb-buffer"}[destination]

    def repo(self, destination: str) -> Path:
        """The Butler repository of a destination."""
        return self.root / f"repo-{destination}"

    @property
    def roots(self) -> tuple[Path, ...]:
        """Every configured root: where the Archiver (and the test's inputs) may write."""
        return (
            self.root / "config",
            self.daq,
            self.staging,
            self.headers,
            self.inputs,
            *(self.target(d) for d in DESTINATIONS),
            *(self.repo(d) for d in DESTINATIONS),
        )

    def name(self, seq_num: int) -> str:
        return image_name(self.camera, seq_num)

    def write_config(self, *, ledger_url: str | None = None, **overrides: Any) -> Path:
        """Write the configuration (`BASE_SETTINGS`, then ``overrides``); create the DAQ store.

        A mapping override is merged key by key into the base mapping.
        """
        settings = merge_settings(BASE_SETTINGS, overrides)
        settings.setdefault("ledger_url", ledger_url or self.ledger_url)
        settings.setdefault("destinations", destinations(self))
        self.headers.mkdir(parents=True, exist_ok=True)
        self.inputs.mkdir(parents=True, exist_ok=True)
        EmulatedDaqStore(self.daq, self.camera.partition).close()
        return write_config_dir(self.component, self.root, **settings)

    @contextlib.contextmanager
    def daq_store(self) -> Iterator[EmulatedDaqStore]:
        store = EmulatedDaqStore(self.daq, self.camera.partition)
        try:
            yield store
        finally:
            store.close()

    async def add_image(self, name: str, **kwargs: Any) -> None:
        """Write a complete image to the DAQ store (in a thread)."""

        def add() -> None:
            with self.daq_store() as store:
                store.add_image(name, generator=GENERATOR, **kwargs)

        await asyncio.to_thread(add)

    async def start_image(self, name: str, **kwargs: Any) -> list[str]:
        """Trigger an image in the DAQ store without writing its sources (the
        readout is still running); return its source locations."""

        def create() -> list[str]:
            with self.daq_store() as store:
                return [str(s.location) for s in store.create_image(name, **kwargs).sources]

        return await asyncio.to_thread(create)

    async def write_sources(self, name: str, locations: Sequence[str] | None = None) -> None:
        """Write sources of an image started by `start_image` (default: all)."""

        def write() -> None:
            with self.daq_store() as store:
                image = store.find_image(name)
                for source in image.sources:
                    if locations is None or str(source.location) in locations:
                        store.write_generated(name, source.location, GENERATOR)

        await asyncio.to_thread(write)

    def source_files(self, name: str) -> list[Path]:
        """The DAQ store's data files of an image's sources (to corrupt or truncate them)."""
        with self.daq_store() as store:
            tag = store.find_image(name).tag_hex
        return sorted((self.daq / self.camera.partition / "data" / tag).glob("*.dat"))

    def ledger(self, url: str | None = None) -> Ledger:
        return Ledger(url or self.ledger_url, create=False)


def destinations(site: Site, retry: Mapping[str, Any] | None = None, **targets: str) -> list[dict[str, Any]]:
    """The two destinations of a site (OODS: direct ingest; DBB: copying ingest).

    Parameters
    ----------
    site : `Site`
        The site.
    retry : mapping, optional
        Retry settings of both (default `QUICK_RETRY`).
    **targets : `str`
        Another target for a destination (e.g. ``dbb="s3://bucket/dbb"``).
    """
    return [
        {
            "name": name,
            "role": name,
            "target": targets.get(name, str(site.target(name))),
            "butler": {"repo": str(site.repo(name)), "ingest_mode": "direct" if name == "oods" else "copy"},
            "retry": dict(retry or QUICK_RETRY),
        }
        for name in DESTINATIONS
    ]


# ---------------------------------------------------------------------- conservation


def md5_of(uri_or_path: str | os.PathLike[str]) -> str:
    """MD5 hex digest of a local file or of any lsst-resources URI (file, s3)."""
    text = os.fspath(uri_or_path)
    if "://" not in text or text.startswith("file://"):
        path = ResourcePath(text).ospath if text.startswith("file://") else text
        return file_checksum(path).split(":", 1)[1]
    return hashlib.md5(ResourcePath(text).read()).hexdigest()


def raw_datasets(repo: Path, instrument: str) -> list[tuple[int, int, str]]:
    """Every ``raw`` dataset of an instrument in a repository, in every collection.

    Returns
    -------
    datasets : `list` [`tuple` [`int`, `int`, `str`]]
        (exposure, detector, MD5 of the artifact) per dataset; empty if the
        repository was never created.
    """
    if not (repo / "butler.yaml").exists():
        return []
    butler = Butler.from_config(str(repo), writeable=False)
    try:
        refs = butler.query_datasets(
            "raw", collections="*", find_first=False, instrument=instrument, limit=None, explain=False
        )
        return [
            (int(ref.dataId["exposure"]), int(ref.dataId["detector"]), md5_of(butler.getURI(ref).geturl()))
            for ref in refs
        ]
    finally:
        butler.close()


def _fail(message: str) -> None:
    raise AssertionError(message)


def _check_archived_once(
    site: Site,
    expected: Mapping[str, Collection[str]],
    destinations: Sequence[str],
    ledger_url: str | None,
    local_targets: Collection[str],
) -> None:
    camera = site.camera
    staging_md5: dict[tuple[str, str], str] = {}
    with site.ledger(ledger_url) as ledger:
        for obsid, detectors in expected.items():
            written = {d.name: d for d in ledger.detectors(obsid) if d.state is CaptureState.WRITTEN}
            if set(written) != set(detectors):
                _fail(f"{obsid}: files written {sorted(written)}, expected {sorted(detectors)}")
            for name, record in written.items():
                assert record.path is not None
                path = Path(record.path)
                if not path.is_relative_to(site.staging):
                    _fail(f"{obsid} {name}: staging file {path} is outside {site.staging}")
                staging_md5[obsid, name] = md5_of(path)
                if record.checksum and record.checksum.split(":", 1)[-1] != staging_md5[obsid, name]:
                    _fail(f"{obsid} {name}: the ledger's checksum {record.checksum} is not the file's")
            deliveries = ledger.deliveries(image=obsid)
            keys = Counter((d.item, d.destination) for d in deliveries)
            duplicated = [key for key, n in keys.items() if n > 1]
            if duplicated:
                _fail(f"{obsid}: delivery items recorded more than once: {duplicated}")
            for destination in destinations:
                items = {d.item: d for d in deliveries if d.destination == destination}
                missing = set(detectors) - set(items)
                if missing:
                    _fail(f"{obsid}: no delivery of {sorted(missing)} at {destination}")
                for name in detectors:
                    item = items[name]
                    if item.stage is not DeliveryStage.DONE:
                        _fail(f"{obsid} {name} at {destination}: {item.stage.value} ({item.last_error})")
                    assert item.remote_uri is not None
                    for what, digest in (
                        ("the ledger's remote checksum", (item.remote_checksum or "").split(":", 1)[-1]),
                        (f"the copy {item.remote_uri}", md5_of(item.remote_uri)),
                    ):
                        if digest != staging_md5[obsid, name]:
                            _fail(f"{obsid} {name} at {destination}: MD5 of {what} is not the staging file's")
    for destination in destinations:
        if destination in local_targets:
            for obsid, detectors in expected.items():
                _check_target_dir(site, destination, obsid, detectors)
        datasets = raw_datasets(site.repo(destination), site.instrument)
        found = Counter((exposure, detector) for exposure, detector, _ in datasets)
        wanted = Counter(
            (ImageName.parse(obsid).exposure_id, camera.detector(name).id)
            for obsid, detectors in expected.items()
            for name in detectors
        )
        if found != wanted:
            _fail(
                f"Butler repository of {destination}: datasets (exposure, detector) {sorted(found.elements())}, "
                f"expected each of {sorted(wanted)} exactly once"
            )
        by_key = {
            (ImageName.parse(obsid).exposure_id, camera.detector(name).id): staging_md5[obsid, name]
            for obsid, detectors in expected.items()
            for name in detectors
        }
        for exposure, detector, digest in datasets:
            if digest != by_key[exposure, detector]:
                _fail(
                    f"Butler repository of {destination}: the artifact of exposure {exposure} detector "
                    f"{detector} does not have the staging file's MD5"
                )


def _check_target_dir(site: Site, destination: str, obsid: str, detectors: Collection[str]) -> None:
    """Exactly the expected files (raw + sidecar per detector, the manifest if any) at a local target."""
    directory = site.target(destination) / site.instrument / str(DAY_OBS) / obsid
    names = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    raws = {f"{obsid}_{d}.fits" for d in detectors}
    allowed = raws | {f"{obsid}_{d}.json" for d in detectors} | {f"{obsid}_{MANIFEST_ITEM}.json"}
    stray = [n for n in names if n not in allowed]
    if stray:
        _fail(f"{destination} target {directory}: unexpected files {stray} (partial or duplicate copies?)")
    if not raws <= set(names):
        _fail(f"{destination} target {directory}: missing {sorted(raws - set(names))}")


async def assert_archived_once(
    site: Site,
    expected: Mapping[str, Collection[str]],
    *,
    destinations: Sequence[str] = DESTINATIONS,
    ledger_url: str | None = None,
    local_targets: Collection[str] = DESTINATIONS,
) -> None:
    """Nothing lost, nothing duplicated.

    For every image of ``expected`` and each of its detectors: the staging
    file is written (ledger), delivered once to each destination and done,
    and the MD5 of the staging file is that of the ledger's remote checksum,
    of the copy at the far end and of the Butler artifact. Each Butler
    repository holds each expected (exposure, detector) exactly once, in all
    its collections, and nothing else of the instrument. Local targets hold
    exactly the expected files of each image (no partial or stray copies).
    An image mapped to no detector must have nothing anywhere.

    Parameters
    ----------
    site : `Site`
        The site.
    expected : mapping [`str`, collection of `str`]
        Detector names that must be archived, by image name.
    destinations : sequence of `str`, optional
        Destinations to check.
    ledger_url : `str`, optional
        The ledger (default the site's SQLite ledger).
    local_targets : collection of `str`, optional
        Destinations whose target is a local directory of the site.

    Raises
    ------
    AssertionError
        Saying what was lost or duplicated, and where.
    """
    await asyncio.to_thread(_check_archived_once, site, expected, destinations, ledger_url, local_targets)


def files_under(directory: Path) -> list[Path]:
    """Every file (not directory) below ``directory``."""
    return sorted(p for p in directory.rglob("*") if not p.is_dir()) if directory.exists() else []


def assert_confined(site: Site) -> None:
    """Nothing was written in the test's directory outside the configured roots.

    The working directory (``tmp_path/"cwd"``) must stay empty, and no file
    may be anywhere else in ``tmp_path`` but under `Site.roots` (the ledger
    file and its SQLite companions included).

    Raises
    ------
    AssertionError
        Listing the files found outside the roots.
    """
    ledger_files = {site.ledger_path.name + suffix for suffix in ("", "-wal", "-shm", "-journal")}
    outside = [
        path
        for path in files_under(site.tmp_path)
        if not any(path.is_relative_to(root) for root in site.roots)
        and not (path.parent == site.root and path.name in ledger_files)
    ]
    if outside:
        _fail(f"files written outside the configured roots: {[str(p) for p in outside]}")


def staging_raws(site: Site) -> list[Path]:
    """Final raw FITS files in the staging area (not temporary names)."""
    return [p for p in files_under(site.staging) if p.suffix == ".fits" and not p.name.startswith(".")]


# ---------------------------------------------------------------------- tmpfs


class Tmpfs:
    """A real tmpfs mounted by the test (root only); see `mounted_tmpfs`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def remount(self, options: str) -> None:
        """``mount -o remount,<options>`` (e.g. ``size=512m``, ``ro``, ``rw``)."""
        _mount("-o", f"remount,{options}", str(self.path))


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)} failed (these tests run as root): {done.stderr.strip()}")


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str) -> Iterator[Tmpfs]:
    """Mount a tmpfs of ``size`` (``mount -o size=``) on ``path``; unmount it at the end.

    Whatever the Archiver wrote there disappears with it, so check the
    files before the block ends.
    """
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield Tmpfs(path)
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


# ---------------------------------------------------------------------- a locked registry


@contextlib.contextmanager
def write_locked(database: Path) -> Iterator[sqlite3.Connection]:
    """Hold an SQLite database's write lock (an open ``BEGIN IMMEDIATE``
    transaction of another connection) until the block ends; then roll back."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield connection
        connection.execute("ROLLBACK")
    finally:
        connection.close()


# ---------------------------------------------------------------------- what the operator sees


class Observer:
    """What an operator sees of an Archiver besides the result events
    (`lsst.ts.archiver.testing.EventLog`): ``logMessage``, ``errorCode``,
    ``summaryState`` and ``archiverHealth``.

    Parameters
    ----------
    remote : `lsst.ts.salkit.Remote`
        A Remote of the Archiver (its callbacks on those topics are replaced).
    """

    def __init__(self, remote: salkit.Remote) -> None:
        self.messages: list[Any] = []
        self.error_codes: list[Any] = []
        self.states: list[salkit.State] = []
        self.health: list[Any] = []
        remote.evt_logMessage.callback = self.messages.append  # type: ignore[attr-defined]
        remote.evt_errorCode.callback = self.error_codes.append  # type: ignore[attr-defined]
        remote.tel_archiverHealth.callback = self.health.append  # type: ignore[attr-defined]
        remote.evt_summaryState.callback = self._state  # type: ignore[attr-defined]

    def _state(self, data: Any) -> None:
        self.states.append(salkit.State(data.summaryState))

    def logs(self, text: str, min_level: int = 0) -> list[Any]:
        """``logMessage`` samples that contain ``text``, at ``min_level`` or above."""
        return [m for m in self.messages if text in m.message and m.level >= min_level]

    async def wait_log(self, text: str, min_level: int = 0) -> Any:
        """Wait for a ``logMessage`` containing ``text``; return the first."""
        found = await wait_until(
            lambda: self.logs(text, min_level), what=f"a logMessage (level >= {min_level}) with {text!r}"
        )
        return found[0]

    async def wait_error_code(self, code: int, timeout: float | None = None) -> Any:
        """Wait for an ``errorCode`` sample with ``code``; return it."""
        kwargs = {} if timeout is None else {"timeout": timeout}
        [found, *_] = await wait_until(
            lambda: [e for e in self.error_codes if e.errorCode == code], what=f"errorCode {code}", **kwargs
        )
        return found

    async def wait_health(self, condition: Any, what: str) -> Any:
        """Wait for the latest ``archiverHealth`` sample to satisfy ``condition``; return it."""
        return await wait_until(
            lambda: self.health[-1] if self.health and condition(self.health[-1]) else None,
            what=f"an archiverHealth sample with {what}",
        )

    def assert_no_fault(self) -> None:
        """No FAULT and no ``errorCode`` (other than the 0 a CSC writes at start) so far."""
        reports = [e.errorReport for e in self.error_codes if e.errorCode != 0]
        assert salkit.State.FAULT not in self.states, f"went to FAULT: {reports}"
        assert reports == [], f"errorCode written: {reports}"


# ---------------------------------------------------------------------- camera and Header Service


class CameraSystem:
    """The camera's and the Header Service's SAL events, as the real ones publish them."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.csc = salkit.Controller(camera.csc_name)
        self.header_service = salkit.Controller(camera.header_service_name)

    async def end_of_image(self, name: str, exposure_time: float = 2.0) -> None:
        """Publish ``endOfImageTelemetry`` of an image (times: now)."""
        tai = salkit.current_tai()
        await self.csc.evt_endOfImageTelemetry.set_write(  # type: ignore[attr-defined]
            imageName=name,
            imageIndex=1,
            imagesInSequence=1,
            exposureTime=exposure_time,
            timestampDateObs=tai - exposure_time,
            timestampDateEnd=tai,
            force_output=True,
        )

    async def header(self, name: str, url: str, checksum: str = "") -> None:
        """Publish ``largeFileObjectAvailable`` (a header announcement)."""
        await self.header_service.evt_largeFileObjectAvailable.set_write(  # type: ignore[attr-defined]
            url=url, id=name, mimeType="YAML", checkSum=checksum, force_output=True
        )


@contextlib.asynccontextmanager
async def camera_system(camera: Camera) -> AsyncIterator[CameraSystem]:
    """A started `CameraSystem`, closed at the end."""
    system = CameraSystem(camera)
    try:
        await asyncio.gather(system.csc.start_task, system.header_service.start_task)
        yield system
    finally:
        await system.csc.close()
        await system.header_service.close()
