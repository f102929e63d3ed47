"""`ArchiverCsc`: the camera Archiver (ATArchiver, CCArchiver, MTArchiver), its SAL face.

One class serves the three components; the SAL component name selects the
camera. The CSC only speaks SAL: configuration (`ArchiverConfig`), the state
machine, camera and Header Service events, commands. The working parts are
opened by `~lsst.ts.archiver.runtime.ArchiverRuntime`; results become events
in `~lsst.ts.archiver.reporting.ArchiverReporter`; ``archiverHealth`` comes
from `~lsst.ts.archiver.health.HealthMonitor`; cleanup from
`~lsst.ts.archiver.maintenance.MaintenanceLoop`; ``catchUp`` from
`~lsst.ts.archiver.catch_up.CatchUpScheduler`; ``retryImage`` from
`~lsst.ts.archiver.recovery.ImageRecovery`. See doc/archiver.rst for the
operator's view and doc/developer.rst for the map of the code.
"""

from __future__ import annotations

__all__ = ["ArchiverCsc", "LibraryInfoToDebug", "configure_console_log", "run_archiver"]

import asyncio
import collections
import logging
import os
import pathlib
import time
import types
import typing
import urllib.parse

from lsst.ts import salkit

from . import __version__
from .camera import Camera, ImageName, InvalidImageNameError, get_camera
from .catch_up import ArchiveInventory, CatchUpScheduler, DayObsRange, DayObsRangeError, plan_summary
from .config import ArchiverConfig, ArchiverConfigError, TriggerMode
from .config_schema import CONFIG_SCHEMA
from .error_codes import ArchiverFault, ErrorCode
from .health import HealthMonitor
from .ledger import LedgerError, LedgerRunner
from .maintenance import MaintenanceLoop
from .oods_face import OodsFace
from .pipeline import ArchiveRefusedError, CommandTrigger, HeaderTracker, LiveTrigger, StreamTrigger
from .recovery import ImageRecovery, RetryRefusedError
from .reporting import ArchiverReporter
from .runtime import ArchiverRuntime
from .status_page import StatusPageServer, start_status_page

_REPO_CONFIG_ROOT = pathlib.Path(__file__).resolve().parents[4] / "config"


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
        self.config: ArchiverConfig | None = None
        self.runtime: ArchiverRuntime | None = None
        self.simulator: typing.Any = None
        self.camera_remote: salkit.Remote | None = None
        self.oods_face: OodsFace | None = None
        self.header_remote: salkit.Remote | None = None
        self._health: HealthMonitor | None = None
        self._maintenance: MaintenanceLoop | None = None
        self._catch_up: CatchUpScheduler | None = None
        self._recovery: ImageRecovery | None = None
        self._live_trigger: LiveTrigger | None = None
        self._stream_trigger: StreamTrigger | None = None
        self._command_trigger: CommandTrigger | None = None
        self._open_fault: ArchiverFault | None = None
        self.status_page: StatusPageServer | None = None
        """The read-only status page while the runtime is open (``status_page.port`` set)."""
        self._logged_state: salkit.State | None = None
        self._background: set[asyncio.Task[typing.Any]] = set()
        self._start_integration: collections.OrderedDict[str, typing.Any] = collections.OrderedDict()
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
        self.headers = HeaderTracker(log=self.log)
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

    @property
    def worker_id(self) -> str:
        """Identity of this Archiver in the ledger's claims and locks."""
        return f"{self.salinfo.name}:{os.getpid()}"

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

    # ------------------------------------------------------------------ configuration and state machine

    async def configure(self, config: types.SimpleNamespace) -> None:
        """Check and keep a configuration (resources are opened on the way to DISABLED)."""
        try:
            self.config = ArchiverConfig.from_validated(config, self.camera)
        except ArchiverConfigError as e:
            raise salkit.ExpectedError(str(e)) from e
        self._set_header_service(self.config.header_service.name)
        self.headers.configure(self.config.header_service.fetch_policy)
        await self._set_oods_face(self.config.oods_face)

    async def _set_oods_face(self, enabled: bool) -> None:
        """Run as the camera's OODS component, or stop doing so."""
        if enabled and self.oods_face is None:
            self.oods_face = OodsFace(self.camera)
            await self.oods_face.start_task
            self.log.info(f"Running as {self.camera.oods_name} too (oods_face.enabled)")
        elif not enabled and self.oods_face is not None:
            face, self.oods_face = self.oods_face, None
            await face.close()

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
        fault, self._open_fault = self._open_fault, None
        if fault is not None:
            await self.fault(code=fault.code, report=fault.report)

    async def handle_summary_state(self) -> None:
        self._log_summary_state()
        if not self.disabled_or_enabled:
            await self._close_runtime()
            return
        if self.runtime is None:
            try:
                await self._open_runtime()
            except ArchiverFault as fault:
                self.log.error(fault.report)
                self._open_fault = fault
                return
        if self.summary_state == salkit.State.ENABLED:
            await self._start_running()
        else:
            await self._stop_running()

    def _log_summary_state(self) -> None:
        """One console line per summary-state change (INFO; FAULT at ERROR, with its code)."""
        state = self.summary_state
        if state == self._logged_state:
            return
        self._logged_state = state
        if state == salkit.State.FAULT:
            error = self.evt_errorCode.data  # type: ignore[attr-defined]
            self.log.error(f"Summary state FAULT (errorCode {error.errorCode})")
        else:
            self.log.info(f"Summary state {state.name}")

    async def close_tasks(self) -> None:
        await self._close_runtime()
        for remote in (self.camera_remote, self.header_remote):
            if remote is not None:
                await remote.close()
        if self.simulator is not None:
            await self.simulator.close()
            self.simulator = None
        self.headers.close()
        await self._set_oods_face(False)
        await super().close_tasks()

    def _fault_soon(self, code: ErrorCode, report: str) -> None:
        """Go to FAULT without blocking the caller (pipeline, delivery, health)."""
        if self.summary_state != salkit.State.FAULT:
            self._spawn(self.fault(code=code, report=report))

    # ------------------------------------------------------------------ runtime

    async def _open_runtime(self) -> None:
        assert self.config is not None, "configure must run first"
        config = self.config
        if self.simulation_mode:
            config = config.with_daq_root(await self._simulated_daq_root(config))
        await asyncio.to_thread(self._check_destination_directories, config, bool(self.simulation_mode))

        def make_reporter(runner: LedgerRunner) -> ArchiverReporter:
            return ArchiverReporter(
                self,
                self.camera.name,
                runner,
                config.oods_destinations,
                self._fault_soon,
                self.log,
                oods_face=self.oods_face,
            )

        runtime = await ArchiverRuntime.open(
            self.camera,
            config,
            self.headers,
            make_reporter,
            worker_id=self.worker_id,
            log=self.log,
            create_store=bool(self.simulation_mode),
        )
        self.runtime = runtime
        self._live_trigger = LiveTrigger(
            self.camera, runtime.pipeline, runtime.runner, self.log, with_stream=config.trigger.streams
        )
        if config.trigger.streams:
            grace = config.trigger.event_grace if config.trigger.mode is TriggerMode.BOTH else 0.0
            self._stream_trigger = StreamTrigger(
                self.camera,
                runtime.store,
                config.daq.folder,
                runtime.pipeline,
                runtime.runner,
                event_grace=grace,
                log=self.log,
            )
        self._command_trigger = CommandTrigger(self.camera, runtime.pipeline, runtime.runner)
        self._recovery = ImageRecovery(
            self.camera, runtime.pipeline, runtime.delivery, runtime.runner, log=self.log
        )
        archive = [
            d.config
            for name, d in runtime.delivery.destinations.items()
            if name in runtime.delivery.archive_destinations
        ]
        self._catch_up = CatchUpScheduler(
            self.camera,
            runtime.store,
            config.daq.folder,
            runtime.runner,
            runtime.pipeline,
            runtime.delivery,
            config.catch_up,
            recovery=self._recovery,
            inventory=ArchiveInventory(archive, self.camera),
            on_status=runtime.reporter.catch_up_status,
            log=self.log,
        )
        write_health = self.tel_archiverHealth.set_write  # type: ignore[attr-defined]
        self._health = HealthMonitor(runtime, write_health, self._fault_soon, self.log)
        self._health.start()
        self._maintenance = MaintenanceLoop(runtime, self.worker_id, self.log)
        self._maintenance.start()
        self.status_page = await start_status_page(runtime, self.salinfo.name, self.log)

    def _check_destination_directories(self, config: ArchiverConfig, create: bool) -> None:
        """Create (``create``, i.e. ``--simulate``) or report missing local destination directories.

        Without ``--simulate`` a missing directory is a destination that is
        down (not mounted): its files wait and are retried, and a WARNING
        names the directory here, at start. Blocking; run in a thread.
        """
        for destination in config.enabled_destinations:
            if destination.scheme != "file":
                continue
            directory = urllib.parse.unquote(urllib.parse.urlparse(destination.target).path).rstrip("/")
            if os.path.isdir(directory):
                continue
            if create:
                try:
                    os.makedirs(directory, exist_ok=True)
                except OSError as e:
                    self.log.error(f"Destination {destination.name}: cannot create {directory}: {e}")
                    continue
                self.log.info(f"Destination {destination.name}: created {directory} (simulation mode)")
            else:
                self.log.warning(
                    f"Destination {destination.name}: directory {directory} does not exist (not mounted?); "
                    f"its files wait until it does. Create it (mkdir -p {directory}) or fix the target"
                )

    async def _simulated_daq_root(self, config: ArchiverConfig) -> str:
        """Start the simulated camera system in this process (once); return its DAQ root.

        Its DAQ store is under ``<daq.root>/simulated/daq``.
        """
        if self.simulator is None:
            from .simulators import start_simulated_system

            try:
                self.simulator = await start_simulated_system(
                    self.camera.name, os.path.join(config.daq.root, "simulated")
                )
            except Exception as e:
                raise ArchiverFault(
                    ErrorCode.SIMULATOR_FAILED, f"Cannot start the simulated camera system: {e!r}"
                ) from e
            self.log.info(
                f"Simulated {self.camera.name} running in this process ({self.camera.csc_name}, "
                f"{self.camera.header_service_name}); DAQ store {self.simulator.daq_root}"
            )
        return os.fspath(self.simulator.daq_root)

    async def _start_running(self) -> None:
        """ENABLED: deliver, and resume unfinished images."""
        if self.runtime is None or self.runtime.running:
            return
        try:
            resumed = await self.runtime.start()
        except LedgerError as e:
            self._fault_soon(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}")
            return
        if resumed:
            self.log.info(f"Resuming {len(resumed)} unfinished image(s): {', '.join(resumed[:10])}")
        if self._catch_up is not None and self.runtime.config.catch_up.continuous:
            self._catch_up.start_continuous()
        if self._stream_trigger is not None:
            self._stream_trigger.start()

    async def _stop_running(self) -> None:
        """Leaving ENABLED: stop stream mode, catch-up, capture and delivery (the ledger keeps what is left)."""
        if self._stream_trigger is not None:
            await self._stream_trigger.stop()
        if self._catch_up is not None:
            await self._catch_up.stop()
        if self.runtime is not None:
            await self.runtime.stop()

    async def _close_runtime(self) -> None:
        await self._stop_running()
        page, self.status_page = self.status_page, None
        if page is not None:
            await page.close()
        for loop in (self._health, self._maintenance):
            if loop is not None:
                await loop.stop()
        self._health = self._maintenance = self._catch_up = self._live_trigger = None
        self._stream_trigger = None
        self._command_trigger = None
        self._recovery = None
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            await runtime.close()

    # ------------------------------------------------------------------ camera and Header Service

    async def _start_integration_callback(self, data: typing.Any) -> None:
        self._start_integration[data.imageName] = data
        while len(self._start_integration) > 100:
            self._start_integration.popitem(last=False)

    async def _header_callback(self, data: typing.Any) -> None:
        try:
            ImageName.parse(data.id)
        except InvalidImageNameError as e:
            self.log.warning(f"largeFileObjectAvailable with a bad id (url={data.url!r}): {e}; ignored")
            return
        self.headers.announce(data.id, data.url, data.checkSum)

    async def _end_of_image_callback(self, data: typing.Any) -> None:
        start_integration = self._start_integration.pop(data.imageName, None)
        if self.config is not None and self.config.trigger.mode is TriggerMode.STREAM:
            self.log.debug(f"endOfImageTelemetry for {data.imageName} ignored: trigger.mode is stream")
            return
        trigger = self._live_trigger
        if trigger is None:
            self.log.warning(
                f"{data.imageName} announced in state {self.summary_state.name}: not recorded; "
                "archive it later with catchUp or archiveImage"
            )
            return
        try:
            await trigger.end_of_image(
                data, start_integration, enabled=self.summary_state == salkit.State.ENABLED
            )
        except ArchiverFault as fault:
            self._fault_soon(fault.code, fault.report)

    # ------------------------------------------------------------------ commands

    async def do_archiveImage(self, data: typing.Any) -> None:
        """Archive a named image from the DAQ store (acknowledged once started)."""
        self.assert_enabled("archiveImage")
        assert self._command_trigger is not None
        try:
            await self._command_trigger.archive_image(data.imageName, data.priority)
        except ArchiveRefusedError as e:
            raise salkit.ExpectedError(str(e)) from e

    async def do_catchUp(self, data: typing.Any) -> None:
        """Queue the DAQ store's unarchived images of a day_obs range (runs in the background)."""
        self.assert_enabled("catchUp")
        catch_up = self._catch_up
        assert catch_up is not None
        if catch_up.running:
            raise salkit.ExpectedError("A catch-up run is in progress; wait for it to finish")
        try:
            days = DayObsRange.parse(data.startDate, data.endDate)
        except DayObsRangeError as e:
            raise salkit.ExpectedError(str(e)) from e
        plan = await catch_up.plan(days)
        self.log.info(f"catchUp of {days}: {plan_summary(plan)}")
        catch_up.start(plan)

    async def do_retryImage(self, data: typing.Any) -> None:
        """Retry what finally failed for an image (blank destination: every failed part).

        The work is `~lsst.ts.archiver.recovery.ImageRecovery.retry`;
        acknowledged once the failed parts are back to work.
        """
        self.assert_enabled("retryImage")
        recovery = self._recovery
        assert recovery is not None
        try:
            await recovery.retry(data.imageName, data.destination)
        except RetryRefusedError as e:
            raise salkit.ExpectedError(str(e)) from e
        except LedgerError as e:
            self._fault_soon(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}")
            raise salkit.ExpectedError(f"retryImage: ledger unavailable: {e}") from e


QUIET_LIBRARY_LOGGERS = ("lsst.daf.butler",)
"""Libraries whose INFO lines (Butler's "Importing N datasets" per ingest)
are DEBUG on the Archiver's console."""


class LibraryInfoToDebug(logging.Filter):
    """Handler filter: records below WARNING from `QUIET_LIBRARY_LOGGERS`
    become DEBUG records, shown only while the ``reference`` logger's level
    is DEBUG.

    Parameters
    ----------
    reference : `str`, optional
        Name of the logger whose level decides (the CSC's, which
        ``--loglevel`` and ``setLogLevel`` set); blank: the root logger.
    """

    def __init__(self, reference: str = "") -> None:
        super().__init__()
        self.reference = logging.getLogger(reference or None)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not record.name.startswith(QUIET_LIBRARY_LOGGERS):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.reference.getEffectiveLevel() <= logging.DEBUG


def configure_console_log(level: int = logging.INFO, reference: str = "") -> None:
    """Log to stderr at ``level``, one line per record with UTC ISO times;
    library INFO noise (`QUIET_LIBRARY_LOGGERS`) as DEBUG, shown while the
    ``reference`` logger (the CSC's) is at DEBUG."""
    handler = logging.StreamHandler()
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(name)s %(levelname)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(LibraryInfoToDebug(reference))
    logging.basicConfig(level=level, handlers=[handler])


async def run_archiver(name: str) -> None:
    """Run an Archiver from the command line (``bin/run_<x>archiver``)."""
    configure_console_log(reference=name)
    await ArchiverCsc.amain(index=None, name=name)
