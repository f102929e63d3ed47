"""`ArchiverCsc`: the camera Archiver (ATArchiver, CCArchiver, MTArchiver).

One class serves the three components; the SAL component name selects the
camera. The CSC composes the plain libraries (DAQ store, capture pool,
delivery service, ledger) and turns their results into SAL events and
telemetry. See doc/archiver.rst for the operator's view.
"""

from __future__ import annotations

__all__ = ["ArchiverCsc", "run_archiver"]

import asyncio
import collections
import errno
import logging
import os
import pathlib
import re
import shutil
import time
import types
import typing
from collections.abc import Sequence

from lsst.ts import salkit

from . import __version__
from .butler import RepositoryError, open_repository
from .camera import Camera, ImageName, InvalidImageNameError, day_obs_bounds, get_camera
from .capture import CaptureOptions, CaptureStatus, DetectorOutcome, LocalCapturePool
from .config_schema import CONFIG_SCHEMA, MAX_DESTINATIONS
from .daq import DaqStore, EmulatedDaqStore
from .delivery import (
    CleanupConfig,
    DeliveryService,
    DestinationConfig,
    DestinationConfigError,
    DestinationRole,
    ImageArchived,
    ImageInOods,
    OodsCleaner,
    destinations_from_config,
)
from .error_codes import ErrorCode
from .ledger import CaptureState, DeliveryRecord, Ledger, LedgerError, Trigger
from .pipeline import (
    HeaderTracker,
    ImagePipeline,
    PipelineSettings,
    clean_staging,
    exposure_metadata_from_events,
)

_REPO_CONFIG_ROOT = pathlib.Path(__file__).resolve().parents[4] / "config"

_STATUS_IN_ERROR = re.compile(r"^[A-Z_]+ \((\d+)\):")

_GB = 1e9

#: Seconds between archiverHealth samples.
HEALTH_INTERVAL = 1.0


class ArchiverCsc(salkit.ConfigurableCsc):
    """The camera Archiver CSC.

    Parameters
    ----------
    name : `str`
        SAL component name: ``ATArchiver``, ``CCArchiver`` or ``MTArchiver``.
    config_dir : `str`, `pathlib.Path` or `None`
        Configuration directory; None: ``$TS_ARCHIVER_DIR/config/<name>/v1``
        or, if that variable is not set, this source tree's ``config/``.
    initial_state : `lsst.ts.salkit.State`
        State to reach at start.
    override : `str`
        Configuration override used if the CSC starts in DISABLED or ENABLED.
    simulation_mode : `int`
        0: real system. 1: start the simulated camera system (camera and
        Header Service simulators, DAQ emulator) in this process.

    Raises
    ------
    lsst.ts.archiver.camera.UnknownCameraError
        If ``name`` is not one of the three Archivers.
    """

    version = __version__
    valid_simulation_modes = (0, 1)
    simulation_help = (
        "Start the simulated camera system (camera simulator, DAQ emulator, Header Service "
        "simulator) in this process."
    )
    enable_cmdline_state = True

    def __init__(
        self,
        name: str = "CCArchiver",
        config_dir: str | pathlib.Path | None = None,
        initial_state: salkit.State = salkit.State.STANDBY,
        override: str = "",
        simulation_mode: int = 0,
        **kwargs: typing.Any,
    ) -> None:
        self.camera: Camera = get_camera(name)
        if self.camera.archiver_name != name:
            raise ValueError(f"{name!r} is not an Archiver; use one of ATArchiver, CCArchiver, MTArchiver")
        if config_dir is None and not os.environ.get("TS_ARCHIVER_DIR"):
            config_dir = _REPO_CONFIG_ROOT / name / "v1"
        self.config: types.SimpleNamespace | None = None
        self.destinations: tuple[DestinationConfig, ...] = ()
        self.headers = HeaderTracker()
        self.ledger: Ledger | None = None
        self.store: DaqStore | None = None
        self.pool: LocalCapturePool | None = None
        self.delivery: DeliveryService | None = None
        self.pipeline: ImagePipeline | None = None
        self.simulator: typing.Any = None
        self._delivery_running = False
        self._open_error: tuple[ErrorCode, str] | None = None
        self._background: set[asyncio.Task[typing.Any]] = set()
        self._health_task: asyncio.Task[None] | None = None
        self._cleanup_task: asyncio.Task[None] | None = None
        self._catch_up_task: asyncio.Task[None] | None = None
        self._captures: dict[str, list[DetectorOutcome]] = {}
        self._captures_reported: dict[str, None] = {}
        self._start_integration: collections.OrderedDict[str, typing.Any] = collections.OrderedDict()
        self.camera_remote: salkit.Remote | None = None
        self.header_remote: salkit.Remote | None = None
        super().__init__(
            name,
            index=None,
            config_schema=CONFIG_SCHEMA,
            config_dir=config_dir,
            initial_state=initial_state,
            override=override,
            simulation_mode=simulation_mode,
            **kwargs,
        )
        self.camera_remote = self._make_remote(
            self.camera.csc_name, ["startIntegration", "endOfImageTelemetry"]
        )
        if self.camera_remote is not None:
            self.camera_remote.evt_startIntegration.callback = self._start_integration_callback  # type: ignore[attr-defined]
            self.camera_remote.evt_endOfImageTelemetry.callback = self._end_of_image_callback  # type: ignore[attr-defined]
        self._set_header_service(self.camera.header_service_name)

    @staticmethod
    def get_config_pkg() -> str:
        return "ts_archiver"

    @classmethod
    def _default_config_dir(cls, name: str) -> pathlib.Path:
        return pathlib.Path(os.environ["TS_ARCHIVER_DIR"]) / "config" / name

    # ------------------------------------------------------------------ remotes

    def _make_remote(self, name: str, include: list[str]) -> salkit.Remote | None:
        try:
            salkit.get_component_info(name)
        except salkit.UnknownComponentError:
            self.log.warning(
                f"No SAL interface for {name}: live images are not archived (only archiveImage and catchUp)"
            )
            return None
        return salkit.Remote(self.domain, name, readonly=True, include=include, evt_max_history=0)

    def _set_header_service(self, name: str) -> None:
        if self.header_remote is not None and self.header_remote.salinfo.name == name:
            return
        old, self.header_remote = self.header_remote, self._make_remote(name, ["largeFileObjectAvailable"])
        if old is not None:
            self._spawn(old.close())
        if self.header_remote is not None:
            self.header_remote.evt_largeFileObjectAvailable.callback = self._header_callback  # type: ignore[attr-defined]

    def _spawn(self, coro: typing.Coroutine[typing.Any, typing.Any, typing.Any]) -> asyncio.Task[typing.Any]:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # ------------------------------------------------------------------ configuration

    async def configure(self, config: types.SimpleNamespace) -> None:
        """Check and keep a configuration (resources are opened on the way to DISABLED)."""
        destinations = [self._resolve_destination(item) for item in config.destinations]
        try:
            self.destinations = destinations_from_config(destinations)
        except DestinationConfigError as e:
            raise salkit.ExpectedError(f"Bad destinations: {e}") from e
        if not any(d.enabled for d in self.destinations):
            raise salkit.ExpectedError(
                "No enabled destination is configured; files would never leave staging"
            )
        config.daq = dict(config.daq)
        config.daq["root"] = _absolute(config.daq["root"])
        config.daq["partition"] = config.daq["partition"] or self.camera.partition
        config.staging = dict(config.staging)
        config.staging["directory"] = _absolute(config.staging["directory"])
        config.ledger_url = _absolute_sqlite_url(config.ledger_url)
        config.header_service = dict(config.header_service)
        config.header_service["name"] = config.header_service["name"] or self.camera.header_service_name
        self.config = config
        self._set_header_service(config.header_service["name"])

    @staticmethod
    def _resolve_destination(item: typing.Mapping[str, typing.Any]) -> dict[str, typing.Any]:
        """Make local paths of a destination absolute (relative to the working directory)."""
        result = dict(item)
        target = result.get("target")
        if isinstance(target, str) and "://" not in target:
            result["target"] = _absolute(target)
        butler = result.get("butler")
        if isinstance(butler, dict) and isinstance(butler.get("repo"), str) and "://" not in butler["repo"]:
            result["butler"] = {**butler, "repo": _absolute(butler["repo"])}
        return result

    # ------------------------------------------------------------------ state machine

    async def start_phase2(self) -> None:
        """Walk to the initial state; if the Archiver faults on the way, stay up in FAULT."""
        try:
            await super().start_phase2()
        except salkit.ExpectedError as e:
            if self.summary_state != salkit.State.FAULT:
                raise
            self.log.warning(f"Initial state not reached because of a fault: {e}")

    async def do_start(self, data: typing.Any) -> None:
        await super().do_start(data)
        await self._fault_if_open_failed()

    async def do_enable(self, data: typing.Any) -> None:
        await super().do_enable(data)
        await self._fault_if_open_failed()

    async def _fault_if_open_failed(self) -> None:
        if self._open_error is not None:
            code, report = self._open_error
            self._open_error = None
            await self.fault(code=code, report=report)

    async def handle_summary_state(self) -> None:
        if self.disabled_or_enabled:
            if self.pipeline is None:
                try:
                    await self._open()
                except Exception as e:
                    if isinstance(e, _OpenError):
                        self._open_error = (e.code, e.report)
                        self.log.error(e.report)
                    else:
                        self._open_error = (ErrorCode.INTERNAL_ERROR, f"Cannot start the Archiver: {e!r}")
                        self.log.exception("Cannot start the Archiver")
                    await self._close_resources()
                    return
            if self.summary_state == salkit.State.ENABLED:
                await self._start_running()
            else:
                await self._stop_running()
        else:
            await self._stop_running()
            await self._close_resources()

    async def close_tasks(self) -> None:
        await self._stop_running()
        await self._close_resources()
        for remote in (self.camera_remote, self.header_remote):
            if remote is not None:
                await remote.close()
        if self.simulator is not None:
            await self.simulator.close()
            self.simulator = None
        await super().close_tasks()

    def _pipeline_fault(self, code: ErrorCode, report: str) -> None:
        """Go to FAULT without blocking the caller (used by the pipeline and callbacks)."""
        if self.summary_state == salkit.State.FAULT:
            return
        self._spawn(self.fault(code=code, report=report))

    # ------------------------------------------------------------------ resources

    async def _open(self) -> None:
        """Open staging, ledger, DAQ store, capture pool and delivery (DISABLED or ENABLED)."""
        config = self.config
        assert config is not None, "configure must run first"
        staging = pathlib.Path(config.staging["directory"])
        await asyncio.to_thread(_check_staging, staging, config.staging["min_free_space"])
        try:
            self.ledger = await asyncio.to_thread(_open_ledger, config.ledger_url)
        except Exception as e:
            raise _OpenError(
                ErrorCode.LEDGER_UNAVAILABLE, f"Cannot open the ledger at {config.ledger_url}: {e}"
            ) from e
        if self.simulation_mode:
            if self.simulator is None:
                await self._start_simulator(config)
            config.daq["root"] = os.fspath(self.simulator.daq_root)
        try:
            self.store = await asyncio.to_thread(
                EmulatedDaqStore,
                config.daq["root"],
                config.daq["partition"],
                camera=self.camera,
                create=bool(self.simulation_mode),
            )
        except Exception as e:
            raise _OpenError(
                ErrorCode.DAQ_STORE_UNAVAILABLE,
                f"Cannot open the DAQ store (root {config.daq['root']}, partition "
                f"{config.daq['partition']!r}): {e}",
            ) from e
        self.pool = LocalCapturePool(config.workers)
        try:
            await self.pool.start()
        except Exception as e:
            raise _OpenError(
                ErrorCode.INTERNAL_ERROR, f"Cannot start the capture worker processes: {e!r}"
            ) from e
        self.delivery = DeliveryService(
            self.ledger,
            self.destinations,
            worker_id=f"{self.salinfo.name}:{os.getpid()}",
            on_image_in_oods=self._image_in_oods,
            on_image_archived=self._image_archived,
            on_ledger_error=self._ledger_error,
        )
        options = CaptureOptions(
            daq_root=config.daq["root"],
            partition=config.daq["partition"],
            folder=config.daq["folder"],
            staging=os.fspath(staging),
            compress=config.fits["compress"],
            fsync=config.fits["fsync"],
        )
        settings = PipelineSettings(
            daq_wait_timeout=config.daq["wait_timeout"],
            header_wait_timeout=config.header_service["wait_timeout"],
            capture_attempts=config.capture_attempts,
        )
        self.pipeline = ImagePipeline(
            self.camera,
            self.store,
            self.pool,
            self.delivery,
            self.ledger,
            self.headers,
            options,
            settings,
            self,
            catch_up_priority=config.catch_up["priority"],
        )
        self._health_task = asyncio.create_task(self._health_loop())
        if config.cleanup["enabled"]:
            self._cleanup_task = asyncio.create_task(self._cleanup_loop())

    async def _start_simulator(self, config: types.SimpleNamespace) -> None:
        """Simulation mode: start the camera and Header Service simulators in this process.

        Their DAQ store is under ``<daq.root>/simulated/daq`` and becomes the one
        this Archiver reads.
        """
        from .simulators import start_simulated_system

        root = os.path.join(config.daq["root"], "simulated")
        try:
            self.simulator = await start_simulated_system(self.camera.name, root)
        except Exception as e:
            raise _OpenError(
                ErrorCode.SIMULATOR_FAILED, f"Cannot start the simulated camera system: {e!r}"
            ) from e
        config.daq["root"] = os.fspath(self.simulator.daq_root)

    async def _start_running(self) -> None:
        """ENABLED: deliver, and resume unfinished images."""
        if self._delivery_running or self.delivery is None or self.pipeline is None:
            return
        try:
            await self.delivery.start()
            self._delivery_running = True
            resumed = await self.pipeline.resume()
        except LedgerError as e:
            self._pipeline_fault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}")
            return
        if resumed:
            self.log.info(f"Resuming {len(resumed)} unfinished image(s): {', '.join(resumed[:10])}")

    async def _stop_running(self) -> None:
        """Leaving ENABLED: stop capture and delivery (the ledger keeps what is left)."""
        if self._catch_up_task is not None:
            self._catch_up_task.cancel()
            self._catch_up_task = None
        if self.pipeline is not None:
            await self.pipeline.stop()
        if self._delivery_running and self.delivery is not None:
            self._delivery_running = False
            await self.delivery.stop()

    async def _close_resources(self) -> None:
        for task in (self._health_task, self._cleanup_task):
            if task is not None:
                task.cancel()
        self._health_task = self._cleanup_task = None
        if self.pipeline is not None:
            await self.pipeline.stop()
        self.pipeline = None
        if self.delivery is not None:
            if self._delivery_running:
                self._delivery_running = False
                await self.delivery.stop()
            self.delivery = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None

    # ------------------------------------------------------------------ camera and Header Service

    async def _start_integration_callback(self, data: typing.Any) -> None:
        self._start_integration[data.imageName] = data
        while len(self._start_integration) > 100:
            self._start_integration.popitem(last=False)

    async def _header_callback(self, data: typing.Any) -> None:
        if not data.id:
            self.log.warning(f"largeFileObjectAvailable without id (url={data.url!r}); ignored")
            return
        self.headers.announce(data.id, data.url, data.checkSum)

    async def _end_of_image_callback(self, data: typing.Any) -> None:
        obsid = data.imageName
        try:
            name = ImageName.parse(obsid)
        except InvalidImageNameError as e:
            self.log.error(f"endOfImageTelemetry with a bad imageName: {e}; ignored")
            return
        if name.camera_code != self.camera.camera_code:
            self.log.warning(f"endOfImageTelemetry for {obsid}, not a {self.camera.name} image; ignored")
            return
        metadata = exposure_metadata_from_events(data, self._start_integration.pop(obsid, None))
        pipeline = self.pipeline
        if pipeline is None:
            self.log.warning(
                f"{obsid} announced in state {self.summary_state.name}: not recorded; "
                "archive it later with catchUp or archiveImage"
            )
            return
        try:
            known = await asyncio.to_thread(self._ledger_has, obsid)
        except LedgerError as e:
            self._pipeline_fault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}")
            return
        if known or pipeline.is_active(obsid):
            self.log.warning(f"Duplicate endOfImageTelemetry for {obsid} (already in the ledger); ignored")
            return
        if self.summary_state == salkit.State.ENABLED:
            pipeline.start_image(obsid, trigger=Trigger.LIVE, metadata=metadata, wait_for_header=True)
        else:
            await pipeline.record_only(obsid, metadata=metadata)
            self.log.info(
                f"{obsid} announced while {self.summary_state.name}: recorded, archived when enabled"
            )

    def _ledger_has(self, obsid: str) -> bool:
        return self.ledger is not None and self.ledger.has_image(obsid)

    # ------------------------------------------------------------------ commands

    async def do_archiveImage(self, data: typing.Any) -> None:
        """Archive a named image from the DAQ store (acknowledged once started)."""
        self.assert_enabled("archiveImage")
        obsid = data.imageName.strip()
        self._check_image_name(obsid)
        assert self.pipeline is not None and self.ledger is not None
        if self.pipeline.is_active(obsid):
            raise salkit.ExpectedError(f"{obsid} is already being archived")
        if await asyncio.to_thread(self.ledger.has_image, obsid):
            record = await asyncio.to_thread(self.ledger.image, obsid)
            if record.archived_at is not None:
                raise salkit.ExpectedError(
                    f"{obsid} is already archived (status {record.archive_status}: {record.archive_description})"
                )
        self.pipeline.start_image(obsid, trigger=Trigger.COMMANDED, priority=data.priority)

    async def do_catchUp(self, data: typing.Any) -> None:
        """Queue the DAQ store's unarchived images of a day_obs range (runs in the background)."""
        self.assert_enabled("catchUp")
        if self._catch_up_task is not None and not self._catch_up_task.done():
            raise salkit.ExpectedError("A catch-up run is in progress; wait for it to finish")
        first, last = _day_obs_range(data.startDate.strip(), data.endDate.strip())
        assert self.store is not None and self.config is not None
        images = await asyncio.to_thread(
            self.store.list_images, self.config.daq["folder"], complete_only=True
        )
        names = [image.name for image in images if _in_day_obs_range(image.name, first, last)]
        todo = await asyncio.to_thread(self._not_archived, names)
        self.log.info(f"catchUp: {len(todo)} of {len(names)} images in the DAQ store need archiving")
        self._catch_up_task = asyncio.create_task(self._catch_up(todo))

    def _check_image_name(self, obsid: str) -> None:
        try:
            name = ImageName.parse(obsid)
        except InvalidImageNameError as e:
            raise salkit.ExpectedError(str(e)) from e
        if name.camera_code != self.camera.camera_code:
            raise salkit.ExpectedError(
                f"{obsid} is not a {self.camera.name} image (camera code {self.camera.camera_code})"
            )

    def _not_archived(self, names: Sequence[str]) -> list[str]:
        assert self.ledger is not None
        todo = []
        for name in names:
            if self.ledger.has_image(name) and self.ledger.image(name).archived_at is not None:
                continue
            todo.append(name)
        return todo

    async def _catch_up(self, names: Sequence[str]) -> None:
        assert self.config is not None
        interval = 60.0 / self.config.catch_up["rate"]
        priority = self.config.catch_up["priority"]
        for index, name in enumerate(names):
            pipeline = self.pipeline
            if pipeline is None:
                return
            pipeline.start_image(name, trigger=Trigger.CATCH_UP, priority=priority)
            if index + 1 < len(names):
                await asyncio.sleep(interval)
        self.log.info(f"catchUp: all {len(names)} images queued")

    # ------------------------------------------------------------------ pipeline results (PipelineReporter)

    async def detector_captured(self, obsid: str, outcome: DetectorOutcome) -> None:
        raft, _, sensor = outcome.name.partition("_")
        await self.evt_imageRetrievalForArchiving.set_write(  # type: ignore[attr-defined]
            camera=self.camera.name,
            obsid=obsid,
            raft=raft,
            sensor=sensor,
            archiverName=self.salinfo.name,
            statusCode=int(outcome.status),
            description=outcome.description,
            force_output=True,
        )

    async def image_captured(self, obsid: str, outcomes: Sequence[DetectorOutcome]) -> None:
        self._captures[obsid] = list(outcomes)
        while len(self._captures) > 200:
            self._captures.pop(next(iter(self._captures)))

    def pipeline_fault(self, code: ErrorCode, report: str) -> None:
        self._pipeline_fault(code, report)

    # ------------------------------------------------------------------ delivery results

    async def _image_in_oods(self, result: ImageInOods) -> None:
        await self.evt_imageInOODS.set_write(  # type: ignore[attr-defined]
            camera=result.camera,
            obsid=result.obsid,
            raft=result.raft,
            sensor=result.sensor,
            statusCode=result.status_code,
            description=result.description,
            force_output=True,
        )
        await self._focal_plane_capture_if_done(result.obsid)

    async def _image_archived(self, result: ImageArchived) -> None:
        await self.evt_imageArchived.set_write(  # type: ignore[attr-defined]
            camera=result.camera,
            obsid=result.obsid,
            expectedSensors=result.expected_sensors,
            archivedSensors=result.archived_sensors,
            missingSensors=result.missing_sensors,
            statusCode=result.status_code,
            description=result.description,
            force_output=True,
        )
        await self._focal_plane_capture_if_done(result.obsid)

    def _ledger_error(self, error: Exception) -> None:
        self._pipeline_fault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {error}")

    def _oods_destinations(self) -> set[str]:
        return {d.name for d in self.destinations if d.role is DestinationRole.OODS and d.enabled} or {
            d.name for d in self.destinations if d.enabled
        }

    async def _focal_plane_capture_if_done(self, obsid: str) -> None:
        """Write focalPlaneCapture once the image is archived and final at every OODS."""
        ledger = self.ledger
        if ledger is None or obsid in self._captures_reported:
            return
        try:
            image = await asyncio.to_thread(ledger.image, obsid)
            if image.archived_at is None:
                return
            oods = self._oods_destinations()
            deliveries = await asyncio.to_thread(ledger.deliveries, image=obsid)
            if any(d.destination in oods and not d.stage.final for d in deliveries):
                return
            if obsid in self._captures_reported:
                return
            self._captures_reported[obsid] = None
            while len(self._captures_reported) > 1000:
                self._captures_reported.pop(next(iter(self._captures_reported)))
            await self._write_focal_plane_capture(obsid, deliveries)
        except LedgerError as e:
            self._pipeline_fault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}")

    async def _write_focal_plane_capture(self, obsid: str, deliveries: Sequence[DeliveryRecord]) -> None:
        ledger = self.ledger
        if ledger is None:
            return
        detectors = await asyncio.to_thread(ledger.detectors, obsid)
        oods = self._oods_destinations()
        outcomes = {o.name: o for o in self._captures.pop(obsid, [])}
        tel = self.tel_focalPlaneCapture  # type: ignore[attr-defined]
        template = tel.DataType()
        scalar = not isinstance(template.detector, list)
        slots = 1 if scalar else len(template.detector)
        arrays: dict[str, list[typing.Any]] = {
            name: [0] * slots if name in ("detector", "status", "bytesWritten") else [0.0] * slots
            for name in (
                "detector",
                "status",
                "retrievalTime",
                "writeTime",
                "deliveryTime",
                "ingestTime",
                "bytesWritten",
                "medianSignal",
                "noise",
            )
        }
        for record in detectors:
            slot = record.number if record.number < slots else None
            if slot is None:
                continue
            outcome = outcomes.get(record.name)
            arrays["detector"][slot] = record.number
            arrays["status"][slot] = _capture_status(record.state, record.error)
            arrays["bytesWritten"][slot] = int(record.size or 0)
            if outcome is not None:
                arrays["retrievalTime"][slot] = outcome.retrieval_time
                arrays["writeTime"][slot] = outcome.write_time
                arrays["medianSignal"][slot] = _finite(outcome.median_signal)
                arrays["noise"][slot] = _finite(outcome.noise)
            for delivery in deliveries:
                if delivery.item != record.name or delivery.destination not in oods:
                    continue
                if delivery.transferred_at is not None:
                    arrays["deliveryTime"][slot] = delivery.transferred_at - delivery.enqueued_at
                if delivery.ingested_at is not None and delivery.transferred_at is not None:
                    arrays["ingestTime"][slot] = delivery.ingested_at - delivery.transferred_at
        values = {name: (value[0] if scalar else value) for name, value in arrays.items()}
        await tel.set_write(obsid=obsid, **values)

    # ------------------------------------------------------------------ health and cleanup

    async def _health_loop(self) -> None:
        while True:
            try:
                await self._write_health()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("archiverHealth failed")
            await asyncio.sleep(HEALTH_INTERVAL)

    async def _write_health(self) -> None:
        config, ledger, store, delivery = self.config, self.ledger, self.store, self.delivery
        if config is None or ledger is None or store is None or delivery is None:
            return
        try:
            images_pending, detectors_pending, oldest = await asyncio.to_thread(_pending, ledger)
            depths = await delivery.queue_depths()
        except LedgerError as e:
            self._pipeline_fault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}")
            return
        try:
            await asyncio.to_thread(store.capacity)
        except Exception as e:
            self._pipeline_fault(ErrorCode.DAQ_STORE_UNAVAILABLE, f"DAQ store unavailable: {e}")
            return
        staging = config.staging["directory"]
        try:
            free = (await asyncio.to_thread(shutil.disk_usage, staging)).free / _GB
        except OSError as e:
            self._pipeline_fault(ErrorCode.STAGING_NOT_WRITABLE, f"Staging area {staging} unavailable: {e}")
            return
        if free < config.staging["min_free_space"]:
            self._pipeline_fault(
                ErrorCode.STAGING_FULL,
                f"Staging area {staging} has {free:.1f} GB free, below min_free_space "
                f"{config.staging['min_free_space']} GB",
            )
        queue_depth = [0] * MAX_DESTINATIONS
        enabled = [d.name for d in self.destinations if d.enabled]
        for index, name in enumerate(enabled[:MAX_DESTINATIONS]):
            queue_depth[index] = depths.get(name, 0)
        await self.tel_archiverHealth.set_write(  # type: ignore[attr-defined]
            imagesPending=images_pending,
            detectorsPending=detectors_pending,
            oldestPendingAge=oldest,
            queueDepth=queue_depth,
            workersAlive=self.pool.workers_alive if self.pool is not None else 0,
            freeSpace=free,
        )

    async def _cleanup_loop(self) -> None:
        """Every ``cleanup.interval`` s: expire archived staging directories and old OODS raws."""
        assert self.config is not None
        cleanup = self.config.cleanup
        cleaners: dict[str, OodsCleaner] = {}
        try:
            while True:
                await asyncio.sleep(cleanup["interval"])
                ledger = self.ledger
                if ledger is None:
                    return
                try:
                    removed = await asyncio.to_thread(
                        clean_staging, self.config.staging["directory"], ledger, cleanup["retention"] * 3600.0
                    )
                    if removed:
                        self.log.info(f"Staging cleanup removed {len(removed)} archived image(s)")
                except Exception as e:
                    self.log.warning(f"Staging cleanup failed: {e!r}")
                if cleanup["oods_retention"] > 0:
                    await self._clean_oods(cleaners, ledger)
        finally:
            for cleaner in cleaners.values():
                await asyncio.to_thread(cleaner.butler.close)

    async def _clean_oods(self, cleaners: dict[str, OodsCleaner], ledger: Ledger) -> None:
        assert self.config is not None
        cleanup = self.config.cleanup
        for destination in self.destinations:
            if (
                destination.role is not DestinationRole.OODS
                or destination.butler is None
                or not destination.enabled
            ):
                continue
            cleaner = cleaners.get(destination.name)
            if cleaner is None:
                try:
                    butler = await asyncio.to_thread(open_repository, destination.butler.repo)
                except RepositoryError:
                    continue  # nothing ingested yet
                cleaner = OodsCleaner(
                    butler,
                    CleanupConfig(
                        collections=(f"{self.camera.name}/raw/all",),
                        older_than=cleanup["oods_retention"] * 3600.0,
                        interval=cleanup["interval"],
                    ),
                    ledger=ledger,
                    holder=f"{self.salinfo.name}:{os.getpid()}",
                )
                cleaners[destination.name] = cleaner
            try:
                report = await asyncio.to_thread(cleaner.run_once)
            except Exception as e:
                self.log.warning(f"OODS cleanup of {destination.name} failed: {e!r}")
                continue
            if report.pruned:
                self.log.info(f"OODS cleanup of {destination.name}: {report.pruned} raw(s) expired")
            for error in report.errors:
                self.log.warning(f"OODS cleanup of {destination.name}: {error}")


class _OpenError(Exception):
    def __init__(self, code: ErrorCode, report: str) -> None:
        super().__init__(report)
        self.code = code
        self.report = report


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _absolute_sqlite_url(url: str) -> str:
    """Make a SQLite ledger path absolute (a plain path means SQLite)."""
    if "://" not in url:
        return "sqlite:///" + _absolute(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + _absolute(url[len("sqlite:///") :])
    return url


def _check_staging(staging: pathlib.Path, min_free_space: float) -> None:
    try:
        staging.mkdir(parents=True, exist_ok=True)
        probe = staging / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        code = ErrorCode.STAGING_FULL if e.errno == errno.ENOSPC else ErrorCode.STAGING_NOT_WRITABLE
        raise _OpenError(code, f"Staging directory {staging} is not writable: {e}") from e
    free = shutil.disk_usage(staging).free / _GB
    if free < min_free_space:
        raise _OpenError(
            ErrorCode.STAGING_FULL,
            f"Staging area {staging} has {free:.1f} GB free, below min_free_space {min_free_space} GB",
        )


def _open_ledger(url: str) -> Ledger:
    if url.startswith("sqlite:///"):
        pathlib.Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return Ledger(url, create=True)


def _pending(ledger: Ledger) -> tuple[int, int, float]:
    images = ledger.unfinished_images()
    detectors = 0
    for image in images[:200]:
        detectors += sum(1 for d in ledger.detectors(image.name) if d.state is CaptureState.PENDING)
    oldest = time.time() - min(i.registered_at for i in images) if images else 0.0
    return len(images), detectors, oldest


def _capture_status(state: CaptureState, error: str | None) -> int:
    if state is CaptureState.WRITTEN:
        return 0
    if state is CaptureState.PENDING:
        return int(CaptureStatus.UNEXPECTED)
    match = _STATUS_IN_ERROR.match(error or "")
    return int(match.group(1)) if match else int(CaptureStatus.UNEXPECTED)


def _finite(value: float) -> float:
    return value if value == value else 0.0


def _day_obs_range(start: str, end: str) -> tuple[int | None, int | None]:
    """An inclusive day_obs range from ``catchUp``'s YYYYMMDD dates (blank: open)."""
    bounds: list[int | None] = []
    for value in (start, end):
        if not value:
            bounds.append(None)
            continue
        try:
            if not (len(value) == 8 and value.isascii() and value.isdigit()):
                raise ValueError(f"{value!r}")
            day_obs = int(value)
            day_obs_bounds(day_obs)  # checks that it is a real date
        except (ValueError, InvalidImageNameError) as e:
            raise salkit.ExpectedError(f"catchUp dates must be YYYYMMDD (or blank): {e}") from e
        bounds.append(day_obs)
    first, last = bounds
    if first is not None and last is not None and first > last:
        raise salkit.ExpectedError(f"catchUp startDate {start} is after endDate {end}")
    return first, last


def _in_day_obs_range(obsid: str, first: int | None, last: int | None) -> bool:
    """Is ``obsid`` a valid image name whose day_obs is in ``[first, last]``?"""
    try:
        day_obs = ImageName.parse(obsid).day_obs
    except InvalidImageNameError:
        return False
    return (first is None or day_obs >= first) and (last is None or day_obs <= last)


async def run_archiver(name: str) -> None:
    """Run an Archiver from the command line (``bin/run_<x>archiver``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    await ArchiverCsc.amain(index=None, name=name)
