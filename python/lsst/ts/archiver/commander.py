"""`ArchiverCommander`: the Archiver's interactive command-line client.

Prints the CSC's events and telemetry like any `lsst.ts.salkit.CscCommander`,
but summarizes the per-detector events: failures are printed as they
come, successes are counted, and one line per image is printed when its
``imageArchived`` arrives.
"""

from __future__ import annotations

__all__ = ["ArchiverCommander", "ImageSummary", "amain"]

import argparse
import sys
import typing
from dataclasses import dataclass, field

from lsst.ts import salkit

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
    failures: list[str] = field(default_factory=list)

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
    """

    def __init__(self, name: str, **kwargs: typing.Any) -> None:
        kwargs.setdefault("telemetry_fields_to_not_compare", ("timestamp", "oldestPendingAge", "freeSpace"))
        self.images: dict[str, ImageSummary] = {}
        super().__init__(name, index=0, **kwargs)
        self.help_dict["archiveImage"] = "imageName priority  # e.g. CC_O_20241123_000123 0"
        self.help_dict["catchUp"] = "startDate endDate  # YYYYMMDD YYYYMMDD, blank ('') for open ends"

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
                f"{data.private_sndStamp:0.3f}: {data.obsid} {data.raft}_{data.sensor}: capture failed "
                f"(status {data.statusCode}): {data.description}"
            )

    async def evt_imageInOODS_callback(self, data: typing.Any) -> None:
        summary = self._summary(data.obsid)
        if data.statusCode == 0:
            summary.in_oods += 1
        else:
            summary.oods_failed += 1
            self.output(
                f"{data.private_sndStamp:0.3f}: {data.obsid} {data.raft}_{data.sensor}: OODS ingest failed "
                f"(status {data.statusCode}): {data.description}"
            )

    async def tel_focalPlaneCapture_callback(self, data: typing.Any) -> None:
        sizes = data.bytesWritten if isinstance(data.bytesWritten, list) else [data.bytesWritten]
        self._summary(data.obsid).bytes_written = int(sum(sizes))

    async def evt_imageArchived_callback(self, data: typing.Any) -> None:
        summary = self.images.pop(data.obsid, None) or ImageSummary(data.obsid)
        self.output(f"{data.private_sndStamp:0.3f}: {summary.line(data)}")


async def amain(args: typing.Sequence[str] | None = None) -> None:
    """Run the commander: ``archiver_commander {ATArchiver,CCArchiver,MTArchiver} [--enable]``."""
    parser = argparse.ArgumentParser(description="Command an Archiver CSC interactively")
    parser.add_argument("name", choices=ARCHIVERS, help="The Archiver to command.")
    parser.add_argument("-e", "--enable", action="store_true", help="Enable the CSC first.")
    parsed = parser.parse_args(sys.argv[1:] if args is None else args)
    commander = ArchiverCommander(parsed.name, enable=parsed.enable)
    try:
        await commander.start()
        await commander.run_interactive()
    finally:
        await commander.close()
