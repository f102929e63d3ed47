"""`HeaderServiceSimulatorCsc`: a simulated AT/CC/MT Header Service.

While ENABLED it listens to its camera: ``startIntegration`` starts
collecting an image, ``imageReadoutParameters`` gives its detectors and
``endOfImageTelemetry`` ends it. It then writes the image's header file
(YAML, see `lsst.ts.archiver.fits.render_header_file`) under a root
directory or URI and publishes ``largeFileObjectAvailable`` with
``id`` = image name, the URL, the MD5 checksum, ``mimeType="YAML"``,
``generator`` = its own name and the size.

A `HeaderFaultPolicy` can delay or drop headers to test the Archiver's
fallback.
"""

from __future__ import annotations

__all__ = ["HeaderServiceSimulatorCsc"]

import argparse
import asyncio
import os
import typing

from lsst.ts import salkit

from ..camera import get_camera
from ..fits import render_header_file
from ..version import __version__
from .header_content import CollectedImage, build_header
from .header_faults import HeaderFaultPolicy
from .header_store import HeaderFileInfo, HeaderStore
from .key_values import KeyValueError, parse_additional, split_list
from .observatory import RUBIN_SITE, SimulatedObservatory

_HEADER_SERVICES = {
    "ATHeaderService": "ATCamera",
    "CCHeaderService": "CCCamera",
    "MTHeaderService": "MTCamera",
}
_CAMERA_EVENTS = ("startIntegration", "imageReadoutParameters", "endOfImageTelemetry")

#: Groups whose start time (pointing) is remembered; the oldest are forgotten first.
MAX_GROUPS_REMEMBERED = 1000

#: Seconds after which an image whose endOfImageTelemetry never came is forgotten.
COLLECTION_TIMEOUT = 600.0


class HeaderServiceSimulatorCsc(salkit.BaseCsc):
    """A Header Service that writes one header file per image of its camera.

    Parameters
    ----------
    name : `str`
        ``ATHeaderService``, ``CCHeaderService`` or ``MTHeaderService``;
        fixes the camera it listens to.
    header_root : `str` or `os.PathLike`
        Where header files go: a directory or an ``s3://``/``http(s)://``
        URI (lsst-resources).
    fault_policy : `HeaderFaultPolicy`, optional
        Headers to delay or drop; default none.
    seed : `int`
        Seed of the simulated pointing, filter and weather.
    initial_state : `salkit.State`
        Initial summary state.
    check_if_duplicate : `bool`
        Quit at start if another instance is running.
    simulation_mode : `int`
        Must be 0.

    Attributes
    ----------
    published : `dict` [`str`, `HeaderFileInfo`]
        Header files written and announced, by image name.
    dropped : `list` [`str`]
        Images whose header was dropped by the fault policy.
    """

    version = __version__
    valid_simulation_modes = (0,)
    enable_cmdline_state = True

    def __init__(
        self,
        name: str,
        header_root: str | os.PathLike[str],
        *,
        fault_policy: HeaderFaultPolicy | None = None,
        seed: int = 0,
        initial_state: salkit.State = salkit.State.STANDBY,
        check_if_duplicate: bool = False,
        simulation_mode: int = 0,
    ) -> None:
        if name not in _HEADER_SERVICES:
            raise ValueError(
                f"Header Service simulator name {name!r} must be one of {', '.join(_HEADER_SERVICES)}"
            )
        self.camera = get_camera(_HEADER_SERVICES[name])
        self.header_store = HeaderStore(header_root, name)
        self.fault_policy = fault_policy or HeaderFaultPolicy()
        self.observatory = SimulatedObservatory(self.camera.name, seed=seed)
        self.published: dict[str, HeaderFileInfo] = {}
        self.dropped: list[str] = []
        self._collecting: dict[str, CollectedImage] = {}
        self._group_starts: dict[str, float] = {}
        self._header_tasks: set[asyncio.Task[None]] = set()
        self._write_lock = asyncio.Lock()
        super().__init__(
            name,
            initial_state=initial_state,
            check_if_duplicate=check_if_duplicate,
            simulation_mode=simulation_mode,
        )
        self.camera_remote = salkit.Remote(
            self.domain, self.camera.csc_name, readonly=True, include=_CAMERA_EVENTS, evt_max_history=0
        )
        self.camera_remote.evt_startIntegration.callback = self._start_integration  # type: ignore[attr-defined]
        self.camera_remote.evt_imageReadoutParameters.callback = self._readout_parameters  # type: ignore[attr-defined]
        self.camera_remote.evt_endOfImageTelemetry.callback = self._end_of_image_telemetry  # type: ignore[attr-defined]

    # --- camera events ----------------------------------------------------------

    def _collected_from(self, data: typing.Any) -> CollectedImage:
        try:
            additional = parse_additional(data.additionalKeys, data.additionalValues)
        except KeyValueError as e:
            self.log.warning(f"Image {data.imageName}: ignoring malformed additional keys: {e}")
            additional = {}
        return CollectedImage(
            name=data.imageName,
            images_in_sequence=data.imagesInSequence,
            index=data.imageIndex,
            additional=additional,
            exposure_time=data.exposureTime,
            date_beg=data.timestampAcquisitionStart,
        )

    async def _start_integration(self, data: typing.Any) -> None:
        if self.summary_state != salkit.State.ENABLED:
            return
        now = salkit.current_tai()
        for name, image in list(self._collecting.items()):
            if now - image.date_beg > COLLECTION_TIMEOUT + image.exposure_time:
                self.log.warning(f"Image {name}: no endOfImageTelemetry; giving up on its header")
                del self._collecting[name]
        self._collecting[data.imageName] = self._collected_from(data)

    async def _readout_parameters(self, data: typing.Any) -> None:
        image = self._collecting.get(data.imageName)
        if image is not None:
            image.detectors = split_list(data.ccdLocation)

    async def _end_of_image_telemetry(self, data: typing.Any) -> None:
        if self.summary_state != salkit.State.ENABLED:
            return
        image = self._collecting.pop(data.imageName, None)
        if image is None:
            self.log.warning(f"Image {data.imageName}: endOfImageTelemetry without startIntegration")
            image = self._collected_from(data)
        image.date_beg = data.timestampDateObs
        image.date_end = data.timestampDateEnd
        image.shutter_open_time = data.measuredShutterOpenTime
        image.dark_time = data.darkTime
        image.image_tag = data.imageTag
        task = asyncio.create_task(self._publish_header(image))
        self._header_tasks.add(task)
        task.add_done_callback(self._header_tasks.discard)

    # --- header files -----------------------------------------------------------

    def _write_header(self, image: CollectedImage, group_start: float) -> HeaderFileInfo:
        """Build, render and write one header file (blocking; runs in a thread)."""
        date_end = image.date_end if image.date_end is not None else image.date_beg
        start = self.observatory.state(image.group_id, group_start, image.date_beg)
        end = self.observatory.state(image.group_id, group_start, date_end)
        header = build_header(self.camera, image, start, end, RUBIN_SITE)
        return self.header_store.write(image.name, render_header_file(header).encode())

    async def _publish_header(self, image: CollectedImage) -> None:
        fault = self.fault_policy.decide(image.name)
        if fault.drop:
            self.log.info(f"Image {image.name}: dropping its header (fault policy)")
            self.dropped.append(image.name)
            return
        if fault.delay > 0:
            self.log.info(f"Image {image.name}: delaying its header by {fault.delay} s (fault policy)")
            await asyncio.sleep(fault.delay)
        group_start = self._group_starts.setdefault(image.group_id, image.date_beg)
        while len(self._group_starts) > MAX_GROUPS_REMEMBERED:
            del self._group_starts[next(iter(self._group_starts))]
        # One header at a time, in the order the images ended (the lock is FIFO).
        async with self._write_lock:
            try:
                info = await asyncio.to_thread(self._write_header, image, group_start)
            except Exception as e:
                self.log.exception(f"Image {image.name}: could not write its header file: {e!r}")
                return
            self.published[image.name] = info
            await self.evt_largeFileObjectAvailable.set_write(  # type: ignore[attr-defined]
                url=info.url,
                generator=self.salinfo.name,
                version=1.0,
                byteSize=info.byte_size,
                checkSum=info.md5,
                mimeType="YAML",
                id=image.name,
                force_output=True,
            )

    async def wait_headers(self) -> None:
        """Wait until every header being delayed or written is done."""
        while pending := [task for task in self._header_tasks if not task.done()]:
            await asyncio.wait(pending)

    # --- lifecycle ---------------------------------------------------------------

    async def handle_summary_state(self) -> None:
        """Outside ENABLED, forget the images being collected."""
        if self.summary_state != salkit.State.ENABLED:
            self._collecting.clear()

    async def close_tasks(self) -> None:
        """Cancel pending headers and stop listening to the camera."""
        for task in list(self._header_tasks):
            task.cancel()
        await super().close_tasks()
        await self.camera_remote.close()

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", choices=tuple(_HEADER_SERVICES), help="Header Service to simulate.")
        parser.add_argument(
            "--header-root", required=True, help="Directory or s3:// / https:// URI for the header files."
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the simulated observatory.")
        parser.add_argument("--drop", default="", help="Image names whose header to drop, ':'-separated.")
        parser.add_argument("--drop-probability", type=float, default=0.0, help="Drop headers at random.")
        parser.add_argument("--delay-probability", type=float, default=0.0, help="Delay headers at random.")
        parser.add_argument("--delay", type=float, default=0.0, help="Seconds of delay for delayed headers.")

    @classmethod
    def add_kwargs_from_args(cls, args: argparse.Namespace, kwargs: dict[str, typing.Any]) -> None:
        kwargs.update(
            name=args.name,
            header_root=args.header_root,
            seed=args.seed,
            fault_policy=HeaderFaultPolicy(
                drop_images=split_list(args.drop),
                drop_probability=args.drop_probability,
                delay_probability=args.delay_probability,
                delay=args.delay,
                seed=args.seed,
            ),
        )
