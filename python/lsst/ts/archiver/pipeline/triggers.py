"""Triggers: what makes an image be archived, decided without SAL.

* `LiveTrigger`: the camera's ``endOfImageTelemetry`` (a bad or foreign image
  name, a duplicate, ENABLED or only recorded for later);
* `CommandTrigger`: ``archiveImage`` (a bad or foreign name, an image being
  captured or already archived).

Catch-up is a service of its own (`lsst.ts.archiver.catch_up`).
"""

from __future__ import annotations

__all__ = ["ArchiveRefusedError", "CommandTrigger", "LiveTrigger"]

import logging
from typing import Any

from ..camera import Camera, ImageName, InvalidImageNameError
from ..error_codes import ArchiverFault, ErrorCode
from ..ledger import LedgerError, LedgerRunner, Trigger
from .camera_events import exposure_metadata_from_events
from .image_pipeline import ImagePipeline


class LiveTrigger:
    """Start (or, while DISABLED, record) the image a camera event announces.

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera (images of other cameras are ignored).
    pipeline : `ImagePipeline`
        Where the image is archived.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger (duplicates are images it already has).
    log : `logging.Logger`
        The CSC's logger.
    with_stream : `bool`, optional
        Stream mode runs too (``trigger.mode: both``): an image it already
        started is no surprise (logged at INFO, not as a duplicate).
    """

    def __init__(
        self,
        camera: Camera,
        pipeline: ImagePipeline,
        runner: LedgerRunner,
        log: logging.Logger,
        *,
        with_stream: bool = False,
    ) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self.runner = runner
        self.log = log
        self.with_stream = with_stream

    async def end_of_image(self, end_of_image: Any, start_integration: Any | None, *, enabled: bool) -> bool:
        """Handle one ``endOfImageTelemetry`` sample.

        Parameters
        ----------
        end_of_image : sample
            The camera's ``endOfImageTelemetry``.
        start_integration : sample or `None`
            The image's ``startIntegration``, if seen.
        enabled : `bool`
            True: archive now; False (DISABLED): record it, to be archived
            when the CSC is enabled.

        Returns
        -------
        accepted : `bool`
            False if the sample was ignored (bad name, other camera, duplicate).

        Raises
        ------
        lsst.ts.archiver.error_codes.ArchiverFault
            If the ledger cannot be reached.
        """
        try:
            # The one canonical parse: a malformed name (non-ASCII digits,
            # whitespace around it) is rejected, never stripped.
            name = ImageName.parse(end_of_image.imageName)
        except InvalidImageNameError as e:
            self.log.error(f"endOfImageTelemetry with a bad imageName: {e}; ignored")
            return False
        obsid = str(name)
        if name.camera_code != self.camera.camera_code:
            self.log.warning(f"endOfImageTelemetry for {obsid}, not a {self.camera.name} image; ignored")
            return False
        metadata = exposure_metadata_from_events(end_of_image, start_integration)
        try:
            known = await self.runner.run(self.runner.ledger.has_image, obsid)
        except LedgerError as e:
            raise ArchiverFault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}") from e
        if known or self.pipeline.is_active(obsid):
            if self.with_stream:
                self.log.info(f"endOfImageTelemetry for {obsid}: already started (from the DAQ stream)")
            else:
                self.log.warning(
                    f"Duplicate endOfImageTelemetry for {obsid} (already in the ledger); ignored"
                )
            return False
        if enabled:
            self.pipeline.start_image(obsid, trigger=Trigger.LIVE, metadata=metadata, wait_for_header=True)
            return True
        try:
            await self.pipeline.record_only(obsid, metadata=metadata)
        except LedgerError as e:
            raise ArchiverFault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}") from e
        except ArchiverFault:
            raise
        except Exception as e:
            self.log.exception(
                f"{obsid} announced while DISABLED could not be recorded ({e!r}); "
                "archive it with archiveImage or catchUp"
            )
            return False
        self.log.info(f"{obsid} announced while DISABLED: recorded, archived when enabled")
        return True


class ArchiveRefusedError(ValueError):
    """A commanded image is not archived; the message says why."""


class CommandTrigger:
    """Start the image an operator names (``archiveImage``).

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera.
    pipeline : `ImagePipeline`
        Where the image is archived.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger (an archived image is refused).
    """

    def __init__(self, camera: Camera, pipeline: ImagePipeline, runner: LedgerRunner) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self.runner = runner

    async def archive_image(self, image_name: str, priority: int) -> str:
        """Start archiving ``image_name`` from the DAQ store; return its canonical name.

        Raises
        ------
        ArchiveRefusedError
            If the name is malformed or of another camera, or the image is
            being captured or already archived.
        lsst.ts.archiver.ledger.LedgerError
            If the ledger cannot be read.
        """
        try:
            obsid = str(self.camera.parse_image_name(image_name))
        except InvalidImageNameError as e:
            raise ArchiveRefusedError(str(e)) from e
        if self.pipeline.is_active(obsid):
            raise ArchiveRefusedError(f"{obsid} is already being archived")
        ledger = self.runner.ledger
        if await self.runner.run(ledger.has_image, obsid):
            record = await self.runner.run(ledger.image, obsid)
            if record.archived_at is not None:
                raise ArchiveRefusedError(
                    f"{obsid} is already archived (status {record.archive_status}: "
                    f"{record.archive_description}); use retryImage for what failed"
                )
        self.pipeline.start_image(obsid, trigger=Trigger.COMMANDED, priority=priority)
        return obsid
