"""`StreamTrigger`: archive every new image of the DAQ store, with no camera events (stream mode).

The camera writer's mode: engineering images taken under camera control
send no OCS events, yet must be captured the same way. The trigger follows
the store's newest-first stream of complete images (`DaqStore.stream`)
and starts each new image of this camera (trigger ``stream``, live
priority). With ``trigger.mode: both`` the camera's ``endOfImageTelemetry``
(which carries the image's metadata) normally wins: the stream leaves each
image ``event_grace`` seconds to it, then starts what no event started. An
image the ledger already has, or that is being captured, is never started
twice.
"""

from __future__ import annotations

__all__ = ["StreamTrigger"]

import asyncio
import logging

from ..camera import Camera, ImageName, InvalidImageNameError
from ..daq import DaqStore, ImageStream
from ..ledger import LedgerError, LedgerRunner, Trigger
from .image_pipeline import ImagePipeline

STREAM_POLL_TIMEOUT = 5.0
"""Seconds one wait on the stream lasts before it is renewed (it then checks for a stop)."""


class StreamTrigger:
    """Start the images the DAQ stream reports (see module docstring).

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera (images of other cameras are ignored).
    store : `~lsst.ts.archiver.daq.DaqStore`
        The DAQ store.
    folder : `str`
        DAQ folder of the camera's images.
    pipeline : `ImagePipeline`
        Where images are archived.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger (images it has are not started again).
    event_grace : `float`, optional
        Seconds an image is left to the camera's event before the stream
        starts it (0: at once, for ``trigger.mode: stream``).
    log : `logging.Logger`, optional
        The CSC's logger.
    """

    def __init__(
        self,
        camera: Camera,
        store: DaqStore,
        folder: str,
        pipeline: ImagePipeline,
        runner: LedgerRunner,
        *,
        event_grace: float = 0.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.camera = camera
        self.store = store
        self.folder = folder
        self.pipeline = pipeline
        self.runner = runner
        self.event_grace = event_grace
        self.log = log if log is not None else logging.getLogger(__name__)
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Follow the stream from now on (images already in the store are catch-up's)."""
        if self._task is None:
            stream = self.store.stream(self.folder, newest_first=True)
            self._task = asyncio.create_task(self._follow(stream), name="stream-trigger")

    async def stop(self) -> None:
        """Stop following the stream (images already started go on)."""
        tasks = [t for t in (self._task, *self._pending) if t is not None]
        self._task = None
        self._pending.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, stream: ImageStream) -> None:
        while True:
            try:
                image = await stream.next(timeout=STREAM_POLL_TIMEOUT, complete=True)
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("Stream mode: reading the DAQ store's stream failed; retrying")
                await asyncio.sleep(STREAM_POLL_TIMEOUT)
                continue
            task = asyncio.create_task(self._take(image.name), name=f"stream:{image.name}")
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _take(self, name: str) -> None:
        try:
            parsed = ImageName.parse(name)
        except InvalidImageNameError as e:
            self.log.warning(f"Stream mode: the DAQ store has an image with a bad name: {e}; ignored")
            return
        obsid = str(parsed)
        if parsed.camera_code != self.camera.camera_code:
            self.log.warning(f"Stream mode: {obsid} is not a {self.camera.name} image; ignored")
            return
        if self.event_grace > 0:
            await asyncio.sleep(self.event_grace)
        if self.pipeline.is_active(obsid):
            return
        try:
            if await self.runner.run(self.runner.ledger.has_image, obsid):
                return
        except LedgerError as e:
            self.log.error(
                f"Stream mode: {obsid} not started, ledger unavailable: {e}; catch-up will take it"
            )
            return
        if self.pipeline.start_image(obsid, trigger=Trigger.STREAM, wait_for_header=True):
            self.log.info(f"Stream mode: {obsid} is new in the DAQ store; archiving it")
