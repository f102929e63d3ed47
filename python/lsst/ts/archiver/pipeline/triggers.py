"""Live trigger: the camera's ``endOfImageTelemetry`` becomes an image to archive.

The CSC passes each sample here; the decision (a bad or foreign image name,
a duplicate, ENABLED or only recorded for later) is made without SAL.
"""

from __future__ import annotations

__all__ = ["LiveTrigger"]

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
    """

    def __init__(
        self, camera: Camera, pipeline: ImagePipeline, runner: LedgerRunner, log: logging.Logger
    ) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self.runner = runner
        self.log = log

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
            self.log.warning(f"Duplicate endOfImageTelemetry for {obsid} (already in the ledger); ignored")
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
