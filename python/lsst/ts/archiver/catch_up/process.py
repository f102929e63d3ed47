"""``run_catchup_archiver``: the Catch-Up Archiver, a process of its own.

It reads the Archiver's configuration (the same directory, site file and
override the CSC reads), opens the same ledger, DAQ store, staging area and
destinations, and runs continuous catch-up passes (`CatchUpScheduler`)
until SIGTERM or SIGINT, whether the Archiver CSC runs, is DISABLED or is
down. It has no SAL face: what it does goes to its log, one line per
result and per pass (`LoggingReporter`).

It shares the ledger without owning it: it resumes no image a live
Archiver may be capturing (unfinished images are taken only once
``catch_up.stale_after`` has passed), its delivery claims items like a
delivery process, and it records each exposure it completes as archived
(the Archiver, when it runs, reports the items as usual but does not write
``imageArchived`` again for them). A pipeline fault (ledger, DAQ store or
staging area unusable) stops it with exit status 1.
"""

from __future__ import annotations

__all__ = ["LoggingReporter", "load_archiver_config", "main", "run_catch_up"]

import argparse
import asyncio
import logging
import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

import jsonschema

from ..camera import Camera, get_camera
from ..capture import CaptureStatus, DetectorOutcome, WorkerStatus
from ..config import ArchiverConfig, ArchiverConfigError
from ..config_schema import CONFIG_SCHEMA
from ..delivery import ImageArchived, ImageDelivered, ImageInOods
from ..error_codes import ArchiverFault, ErrorCode
from ..ledger import LedgerRunner
from ..pipeline import HeaderTracker
from ..recovery import ImageRecovery
from ..runtime import ArchiverRuntime
from .inventory import ArchiveInventory
from .scheduler import CatchUpScheduler
from .status import CatchUpStatus

_log = logging.getLogger(__name__)

_REPO_CONFIG_ROOT = Path(__file__).resolve().parents[5] / "config"


def load_archiver_config(
    component: str,
    config_dir: str | os.PathLike[str] | None = None,
    *,
    site: str | None = None,
    override: str = "",
) -> tuple[Camera, ArchiverConfig]:
    """Read and validate an Archiver's configuration as its CSC would.

    Parameters
    ----------
    component : `str`
        ``ATArchiver``, ``CCArchiver`` or ``MTArchiver``.
    config_dir : path-like, optional
        The configuration directory; default ``$TS_ARCHIVER_DIR/config/<component>/v1``
        (or this checkout's ``config/<component>/v1``).
    site : `str`, optional
        Site name (``_<site>.yaml``); default ``$LSST_SITE``.
    override : `str`, optional
        An override file of the directory.

    Raises
    ------
    ArchiverConfigError
        If the component is unknown, a file is missing or unreadable, or the
        configuration is invalid (the message says where).
    """
    from lsst.ts.salkit.configuration import ConfigDirectory, ConfigurationError

    try:
        camera = get_camera(component)
    except Exception as e:
        raise ArchiverConfigError(f"{component!r} is not an Archiver: {e}") from e
    if camera.archiver_name != component:
        raise ArchiverConfigError(
            f"{component!r} is not an Archiver; use ATArchiver, CCArchiver or MTArchiver"
        )
    if config_dir is None:
        root = os.environ.get("TS_ARCHIVER_DIR")
        config_dir = (
            Path(root) / "config" / component / "v1" if root else _REPO_CONFIG_ROOT / component / "v1"
        )
    try:
        files = ConfigDirectory(Path(config_dir)).read(
            override, site if site is not None else os.environ.get("LSST_SITE")
        )
    except ConfigurationError as e:
        raise ArchiverConfigError(f"Cannot read the configuration of {component}: {e}") from e
    errors = sorted(jsonschema.Draft7Validator(CONFIG_SCHEMA).iter_errors(files.config), key=str)
    if errors:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in errors[:5]
        )
        raise ArchiverConfigError(
            f"Invalid configuration of {component} ({', '.join(files.filenames)}): {problems}"
        )
    return camera, ArchiverConfig.from_validated(files.config, camera)


class LoggingReporter:
    """The results of the Catch-Up Archiver, as log lines (it has no SAL face).

    Parameters
    ----------
    log : `logging.Logger`
        Where to log.
    fault : `asyncio.Event`
        Set on a pipeline fault (the process then stops).
    """

    def __init__(self, log: logging.Logger, fault: asyncio.Event) -> None:
        self.log = log
        self.fault = fault
        self.fault_report = ""

    async def detector_captured(self, obsid: str, outcome: DetectorOutcome) -> None:
        if outcome.status is not CaptureStatus.OK:
            self.log.warning(f"{obsid} {outcome.name}: capture failed: {outcome.description}")

    async def image_captured(self, obsid: str, outcomes: Sequence[DetectorOutcome]) -> None:
        written = sum(1 for o in outcomes if o.status is CaptureStatus.OK)
        self.log.info(f"{obsid}: {written} of {len(outcomes)} detector files written")

    def pipeline_fault(self, code: ErrorCode, report: str) -> None:
        self.log.critical(f"Catch-up cannot work (error {int(code)}): {report}")
        self.fault_report = report
        self.fault.set()

    async def image_in_oods(self, result: ImageInOods) -> None:
        if result.status_code:
            self.log.warning(
                f"{result.obsid} {result.raft}_{result.sensor} at {result.destination}: {result.description}"
            )

    async def image_archived(self, result: ImageArchived) -> None:
        level = logging.INFO if result.status_code == 0 else logging.WARNING
        self.log.log(level, f"{result.obsid} archived by catch-up: {result.description}")

    async def image_delivered(self, result: ImageDelivered) -> None:
        level = logging.INFO if result.status_code == 0 else logging.WARNING
        self.log.log(level, f"{result.obsid} at {result.destination}: {result.description}")

    def ledger_error(self, error: Exception) -> None:
        self.log.error(f"Ledger unavailable: {error}")

    async def worker_status(self, status: WorkerStatus) -> None:
        self.log.info(f"Capture worker {status.name} (host {status.host}, pid {status.pid}): {status.state}")

    async def catch_up_status(self, status: CatchUpStatus) -> None:
        eta = "" if status.time_to_empty <= 0 else f", empty in about {status.time_to_empty / 60:.0f} min"
        oldest = f", oldest {status.oldest_missing}" if status.oldest_missing else ""
        where = "" if status.archive_reachable else " (archive registry unreachable: DAQ and ledger only)"
        self.log.info(
            f"Catch-up backlog: {status.backlog_images} image(s), {status.backlog_bytes / 1e9:.2f} GB to deliver, "
            f"{status.rate:.1f} images/min{eta}{oldest}{where}"
        )


async def run_catch_up(
    camera: Camera, config: ArchiverConfig, stop: asyncio.Event, *, log: logging.Logger | None = None
) -> int:
    """Run continuous catch-up until ``stop`` is set; return the exit status (0, or 1 after a fault).

    Raises
    ------
    lsst.ts.archiver.error_codes.ArchiverFault
        If a part cannot be opened (ledger, DAQ store, staging area, workers).
    """
    log = log if log is not None else _log
    fault = asyncio.Event()
    reporter = LoggingReporter(log, fault)

    def make_reporter(runner: LedgerRunner) -> LoggingReporter:
        return reporter

    worker_id = f"catch-up:{socket.gethostname()}:{os.getpid()}"
    runtime = await ArchiverRuntime.open(
        camera, config, HeaderTracker(log=log), make_reporter, worker_id=worker_id, log=log, owns_ledger=False
    )
    try:
        await runtime.start(resume=False)
        delivery = runtime.delivery
        archive = [
            d.config for name, d in delivery.destinations.items() if name in delivery.archive_destinations
        ]
        scheduler = CatchUpScheduler(
            camera,
            runtime.store,
            config.daq.folder,
            runtime.runner,
            runtime.pipeline,
            delivery,
            config.catch_up,
            recovery=ImageRecovery(camera, runtime.pipeline, delivery, runtime.runner, log=log),
            inventory=ArchiveInventory(archive, camera),
            on_status=reporter.catch_up_status,
            log=log,
        )
        scheduler.start_continuous()
        asked = ", ".join(d.name for d in archive if d.butler is not None) or "none (no Butler: not compared)"
        log.info(
            f"Catch-Up Archiver for {camera.archiver_name} runs: a pass every {config.catch_up.interval:g} s, "
            f"at most {config.catch_up.rate:g} images/min; archive registries asked: {asked}"
        )
        waiting = [asyncio.create_task(stop.wait()), asyncio.create_task(fault.wait())]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in waiting:
            task.cancel()
        await scheduler.stop()
    finally:
        await runtime.close()
    log.info("Catch-Up Archiver stopped")
    return 1 if fault.is_set() else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``run_catchup_archiver``: run the Catch-Up Archiver until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="run_catchup_archiver",
        description=(
            "Run the Catch-Up Archiver: every catch_up.interval seconds compare the DAQ catalog, the "
            "ledger and the archive's Butler registry, and archive what the normal path missed."
        ),
    )
    parser.add_argument("component", choices=("ATArchiver", "CCArchiver", "MTArchiver"))
    parser.add_argument("--config-dir", help="configuration directory (default: the Archiver's)")
    parser.add_argument("--site", help="site file _<site>.yaml (default $LSST_SITE)")
    parser.add_argument("--override", default="", help="an override file of the configuration directory")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(f"CatchUp{args.component}")
    try:
        camera, config = load_archiver_config(
            args.component, args.config_dir, site=args.site, override=args.override
        )
    except ArchiverConfigError as e:
        log.error("%s", e)
        return 2

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            return await run_catch_up(camera, config, stop, log=log)
        except ArchiverFault as fault:
            log.error("Cannot start (error %d): %s", int(fault.code), fault.report)
            return 1

    return asyncio.run(run())
