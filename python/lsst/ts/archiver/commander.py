"""`ArchiverCommander`: the Archiver's interactive command-line client.

Prints the CSC's events and telemetry like any `lsst.ts.salkit.CscCommander`,
but summarizes the per-detector events: failures are printed as they
come, successes are counted, and one line per image is printed once its
``imageArchived`` and all its ``imageInOODS`` have arrived.

The Archiver runs in another process (over Kafka: the commander refuses the
in-memory transport at once, saying how to fix it), or, with ``--simulate``,
in the commander's own process with its simulated camera system; then the
commander also has ``takeImages``, sent to that simulated camera.
"""

from __future__ import annotations

__all__ = ["ArchiverCommander", "ImageSummary", "amain"]

import argparse
import asyncio
import sys
import typing
from dataclasses import dataclass

from lsst.ts import salkit

from .camera import get_camera
from .simulators.camera_commander import TAKE_IMAGES_HELP, complete_take_images_args

ARCHIVERS = ("ATArchiver", "CCArchiver", "MTArchiver")


@dataclass
class ImageSummary:
    """What the commander has seen of one image."""

    obsid: str
    written: int = 0
    capture_failed: int = 0
    in_oods: int = 0
    oods_failed: int = 0
    bytes_written: int = 0
    first_event: float = 0.0
    archived: typing.Any = None

    @property
    def oods_done(self) -> bool:
        """Every written file has its imageInOODS (ok or failed)."""
        return self.in_oods + self.oods_failed >= self.written

    def line(self, archived: typing.Any) -> str:
        """The one-line summary, given the image's ``imageArchived`` sample."""
        status = "OK" if archived.statusCode == 0 else f"INCOMPLETE (status {archived.statusCode})"
        text = (
            f"{self.obsid}: {status}; {archived.archivedSensors}/{archived.expectedSensors} archived, "
            f"{self.written} written, {self.in_oods} in OODS"
        )
        if self.capture_failed or self.oods_failed:
            text += f", {self.capture_failed} capture failures, {self.oods_failed} OODS failures"
        if self.bytes_written:
            text += f", {self.bytes_written / 1e6:.1f} MB"
        if self.first_event:
            text += f", {archived.private_sndStamp - self.first_event:.1f} s from first file"
        if archived.missingSensors:
            text += f"; missing {archived.missingSensors}"
        return text


class ArchiverCommander(salkit.CscCommander):
    """Command an Archiver; one summary line per image.

    Parameters
    ----------
    name : `str`
        ``ATArchiver``, ``CCArchiver`` or ``MTArchiver``.
    **kwargs
        Further `lsst.ts.salkit.CscCommander` arguments.

    Attributes
    ----------
    camera_remote : `lsst.ts.salkit.Remote` or `None`
        Remote of the simulated camera of an Archiver in this process
        (`use_simulated_camera`); None: no ``takeImages``.
    """

    def same_process_hint(self) -> str:
        return (
            "Or run the Archiver (with its simulated camera system) and the commander in one process: "
            f"bin/archiver_commander {self.remote.salinfo.name} --simulate --enable"
        )

    def __init__(self, name: str, **kwargs: typing.Any) -> None:
        self.camera_remote: salkit.Remote | None = None
        #: The ledger URL of an Archiver running in this process (``use_archiver_in_process``).
        self._ledger_url_of_csc: typing.Callable[[], str | None] = lambda: None
        kwargs.setdefault("telemetry_fields_to_not_compare", ("timestamp", "oldestPendingAge", "freeSpace"))
        self.images: dict[str, ImageSummary] = {}
        #: Seconds an image's line waits for its last imageInOODS after imageArchived.
        self.oods_grace = 10.0
        self._grace_tasks: set[asyncio.Task[None]] = set()
        super().__init__(name, index=0, **kwargs)
        self.help_dict["archiveImage"] = "imageName priority  # e.g. CC_O_20241123_000123 0"
        self.help_dict["catchUp"] = "startDate endDate  # YYYYMMDD YYYYMMDD, blank ('') for open ends"
        self.help_dict["retryImage"] = "imageName destination  # destination blank ('') for every failed part"
        self.help_dict["map"] = "obsid [path [ledgerURL]]  # write the image's focal-plane map (PNG)"

    def use_archiver_in_process(self, csc: typing.Any) -> None:
        """The Archiver ``csc`` runs in this process (``--simulate``): ``map``
        reads the ledger of the configuration it applied (its ``--configdir``),
        not the site default."""
        self._ledger_url_of_csc = lambda: csc.config.ledger_url if csc.config is not None else None

    def use_simulated_camera(self) -> None:
        """Offer ``takeImages``, sent to the camera simulator that an Archiver
        running with ``--simulate`` in this process starts with it."""
        self.camera_remote = salkit.Remote(
            self.domain, get_camera(self.remote.salinfo.name).csc_name, include=["summaryState"]
        )
        self.help_dict["takeImages"] = f"{TAKE_IMAGES_HELP}\n      (sent to the simulated camera)"

    async def do_takeImages(self, args: typing.Sequence[str]) -> None:
        """Take images with the simulated camera (``--simulate`` only)."""
        camera = self.camera_remote
        if camera is None:
            self.output(
                "takeImages is for the simulated camera of archiver_commander --simulate; to command a "
                "camera in another process use bin/camera_commander <AT|CC|MT>Camera (over Kafka)"
            )
            return
        topic = camera.cmd_takeImages  # type: ignore[attr-defined]
        values = self.parse_command_args(topic, complete_take_images_args(args))
        if not camera.evt_summaryState.has_data:  # type: ignore[attr-defined]
            self.output(
                "The simulated camera is not running yet: it starts when the Archiver starts "
                "(start, or --enable)"
            )
            return
        await self.send_command("takeImages", topic, values)

    def _summary(self, obsid: str) -> ImageSummary:
        summary = self.images.get(obsid)
        if summary is None:
            summary = self.images[obsid] = ImageSummary(obsid)
            while len(self.images) > 1000:
                self.images.pop(next(iter(self.images)))
        return summary

    async def evt_imageRetrievalForArchiving_callback(self, data: typing.Any) -> None:
        summary = self._summary(data.obsid)
        if not summary.first_event:
            summary.first_event = data.private_sndStamp
        if data.statusCode == 0:
            summary.written += 1
        else:
            summary.capture_failed += 1
            self.output(
                f"{self.format_time(data.private_sndStamp)}: {data.obsid} {data.raft}_{data.sensor}: "
                "capture failed "
                f"(status {data.statusCode}): {data.description}"
            )

    async def evt_imageInOODS_callback(self, data: typing.Any) -> None:
        summary = self._summary(data.obsid)
        if data.statusCode == 0:
            summary.in_oods += 1
        else:
            summary.oods_failed += 1
            self.output(
                f"{self.format_time(data.private_sndStamp)}: {data.obsid} {data.raft}_{data.sensor}: "
                "OODS ingest failed "
                f"(status {data.statusCode}): {data.description}"
            )
        if summary.archived is not None and summary.oods_done:
            self._print_summary(summary)

    async def do_map(self, args: typing.Sequence[str]) -> None:
        """``map obsid [path [ledgerURL]]``: write an image's focal-plane map from the ledger.

        The ledger is the one of the Archiver's configuration unless given:
        with ``--simulate`` the in-process Archiver's (its ``--configdir``),
        else as the CSC reads it (``$TS_ARCHIVER_DIR`` or this checkout,
        ``$LSST_SITE``);
        the default path is ``<obsid>.png`` here. See `lsst.ts.archiver.maps`.
        """
        from .maps import MapRefusedError, write_archiver_map  # here: only this command draws

        if not 1 <= len(args) <= 3:
            self.output(f"map takes obsid [path [ledgerURL]], not {len(args)} argument(s)")
            return
        obsid, path, ledger_url = (list(args) + [None, None])[:3]
        assert obsid is not None
        if ledger_url is None:
            ledger_url = self._ledger_url_of_csc()
        try:
            written = await asyncio.to_thread(
                write_archiver_map, self.remote.salinfo.name, obsid, path, ledger_url=ledger_url
            )
        except MapRefusedError as e:
            self.output(f"map: {e}")
            return
        self.output(f"Focal-plane map of {obsid}: {written.resolve()}")

    async def close(self) -> None:
        for task in self._grace_tasks:
            task.cancel()
        if self.camera_remote is not None:
            await self.camera_remote.close()
        await super().close()

    async def tel_focalPlaneCapture_callback(self, data: typing.Any) -> None:
        sizes = data.bytesWritten if isinstance(data.bytesWritten, list) else [data.bytesWritten]
        self._summary(data.obsid).bytes_written = int(sum(sizes))

    async def evt_imageArchived_callback(self, data: typing.Any) -> None:
        """Print the image's line now if its OODS events are all in, else when they are
        (the DBB can finish first), at the latest after `oods_grace` seconds."""
        summary = self._summary(data.obsid)
        summary.archived = data
        if summary.oods_done:
            self._print_summary(summary)
            return
        task = asyncio.create_task(self._print_after_grace(summary))
        self._grace_tasks.add(task)
        task.add_done_callback(self._grace_tasks.discard)

    async def _print_after_grace(self, summary: ImageSummary) -> None:
        await asyncio.sleep(self.oods_grace)
        self._print_summary(summary)

    def _print_summary(self, summary: ImageSummary) -> None:
        if self.images.get(summary.obsid) is not summary:
            return  # already printed
        del self.images[summary.obsid]
        self.output(
            f"{self.format_time(summary.archived.private_sndStamp)}: {summary.line(summary.archived)}"
        )


async def amain(args: typing.Sequence[str] | None = None) -> None:
    """Run the commander: ``archiver_commander {ATArchiver,CCArchiver,MTArchiver}
    [--enable] [--simulate [--configdir DIR]]``.

    Raises
    ------
    SystemExit
        With status 2 and the fix on stderr if the Archiver cannot be
        reached (the in-memory transport without ``--simulate``), 1 if it
        cannot be started (``--simulate``) or ``--enable`` fails.
    """
    parser = argparse.ArgumentParser(
        description="Command an Archiver CSC interactively (over Kafka, or --simulate in this process)"
    )
    parser.add_argument("name", choices=ARCHIVERS, help="The Archiver to command.")
    parser.add_argument("-e", "--enable", action="store_true", help="Enable the CSC first.")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="Run the Archiver with its simulated camera system in this process (STANDBY; "
        "with --enable, ENABLED) and offer takeImages; needs LSST_SITE (e.g. test).",
    )
    parser.add_argument(
        "--configdir", help="With --simulate: the Archiver's configuration directory (default: its own)."
    )
    parsed = parser.parse_args(sys.argv[1:] if args is None else args)
    if parsed.configdir is not None and not parsed.simulate:
        parser.error("--configdir needs --simulate")
    if not parsed.simulate:
        status = await ArchiverCommander(parsed.name, enable=parsed.enable).run_session()
        if status:
            raise SystemExit(status)
        return
    from .csc import ArchiverCsc

    try:
        csc = ArchiverCsc(name=parsed.name, config_dir=parsed.configdir, simulation_mode=1)
    except (RuntimeError, ValueError) as e:
        print(f"archiver_commander: cannot start {parsed.name}: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    try:
        try:
            await csc.start_task
        except salkit.ExpectedError as e:
            print(f"archiver_commander: cannot start {parsed.name}: {e}", file=sys.stderr)
            raise SystemExit(1) from None
        commander = ArchiverCommander(parsed.name, enable=parsed.enable)
        commander.use_archiver_in_process(csc)
        commander.use_simulated_camera()
        status = await commander.run_session()
    finally:
        with salkit.patient_signals():
            await csc.close()
    if status:
        raise SystemExit(status)
