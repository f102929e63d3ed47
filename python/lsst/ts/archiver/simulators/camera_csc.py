"""`CameraSimulatorCsc`: a simulated ATCamera, CCCamera or MTCamera.

``takeImages`` runs the image sequence the way the real camera does, with
its SAL events, and writes each image into a DAQ store emulator:

for each image: ``startIntegration`` → integrate for ``expTime`` → DAQ
trigger, ``startReadout``, ``imageReadoutParameters`` → readout (2 s,
during which the sources are written) → ``endReadout`` (the image is
complete in the DAQ store) → ``endOfImageTelemetry`` about 300 ms later,
while the next image already integrates.

If writing the pixels takes longer than the readout (a full LSSTCam image
takes about 40 s on a small machine), ``endReadout`` waits for it, so the
sequence runs slower than the real 17 s cadence; a warning says so.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_END_TELEMETRY_DELAY",
    "DEFAULT_READOUT_TIME",
    "SMALL_AMPLIFIER_REGISTERS",
    "CameraSimulatorCsc",
]

import argparse
import asyncio
import collections
import os
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from lsst.ts import salkit

from ..camera import (
    CONTROLLERS,
    CameraModelError,
    DaqLocation,
    Detector,
    Reb,
    day_obs_bounds,
    day_obs_for,
    get_camera,
)
from ..daq import DaqError, EmulatedDaqStore, PixelGenerator
from ..fits import tai_unix_to_isot
from ..version import __version__
from .daq_writer import DaqImageWriter
from .image_counter import ImageCounter
from .image_events import ImageIdentity, readout_parameters
from .key_values import KeyValueError, parse_key_value_map, split_list

DEFAULT_READOUT_TIME = 2.0
"""Seconds the camera takes to read out an image."""

DEFAULT_END_TELEMETRY_DELAY = 0.3
"""Seconds from ``endReadout`` to ``endOfImageTelemetry``."""

SMALL_AMPLIFIER_REGISTERS: Mapping[str, int] = {
    "UnderCols": 2,
    "ReadCols": 8,
    "ReadCols2": 0,
    "OverCols": 2,
    "ReadRows": 6,
    "OverRows": 2,
}
"""Register values for tiny 12 x 8 amplifiers (fast tests of whole cameras)."""

_CAMERA_COMPONENTS = ("ATCamera", "CCCamera", "MTCamera")


class CameraSimulatorCsc(salkit.BaseCsc):
    """A camera CSC that takes simulated images into a DAQ store emulator.

    Parameters
    ----------
    name : `str`
        ``ATCamera``, ``CCCamera`` or ``MTCamera``; fixes the camera.
    daq_root : `str` or `os.PathLike`
        Root directory of the emulated DAQ stores; the camera's partition
        (``lat``, ``comcam``, ``camera``) is created there if needed.
    controller : `str`
        Controller code of the image names (``O`` = OCS).
    sensors : iterable of `str`, optional
        Detectors (``R22_S11``) to read when ``takeImages`` names none;
        None: every detector. The DAQ stores whole REBs, so every detector
        of a REB that reads one of these is in the image.
    registers : `~collections.abc.Mapping` [`str`, `int`], optional
        Register values overriding the readout geometry (e.g.
        `SMALL_AMPLIFIER_REGISTERS`); None: the real geometry.
    time_scale : `float`
        Factor applied to the readout time and the ``endOfImageTelemetry``
        delay (not to ``expTime``); e.g. 0.05 for fast tests.
    readout_time : `float`
        Readout time in seconds before scaling.
    pixel_generator : `PixelGenerator`, optional
        Pixel content; default bias and read noise only.
    state_file : `str` or `os.PathLike`, optional
        JSON file keeping the last sequence number per day; default
        ``<daq_root>/<partition>/<name>_image_numbers.json``.
    daq_capacity : `int`, optional
        Byte budget of the DAQ store (None: keep the stored one).
    write_processes : `int`
        Write the sources with this many processes (0: one thread).
    image_events : `bool`
        Write the image events (``startIntegration`` ... ``endOfImageTelemetry``).
        False: images taken under camera control, with no OCS events (the
        Archiver finds them only in stream mode or by catch-up).
    initial_state : `salkit.State`
        Initial summary state.
    check_if_duplicate : `bool`
        Quit at start if another instance is running.
    simulation_mode : `int`
        Must be 0 (the CSC is itself a simulator).
    """

    version = __version__
    valid_simulation_modes = (0,)
    enable_cmdline_state = True

    def __init__(
        self,
        name: str,
        daq_root: str | os.PathLike[str],
        *,
        controller: str = "O",
        sensors: Iterable[str] | None = None,
        registers: Mapping[str, int] | None = None,
        time_scale: float = 1.0,
        readout_time: float = DEFAULT_READOUT_TIME,
        pixel_generator: PixelGenerator | None = None,
        state_file: str | os.PathLike[str] | None = None,
        daq_capacity: int | None = None,
        write_processes: int = 0,
        image_events: bool = True,
        initial_state: salkit.State = salkit.State.STANDBY,
        check_if_duplicate: bool = False,
        simulation_mode: int = 0,
    ) -> None:
        if name not in _CAMERA_COMPONENTS:
            raise ValueError(f"camera simulator name {name!r} must be one of {', '.join(_CAMERA_COMPONENTS)}")
        if time_scale <= 0 or readout_time < 0:
            raise ValueError(
                f"time_scale={time_scale} must be > 0 and readout_time={readout_time} must be >= 0"
            )
        self.camera = get_camera(name)
        if controller not in CONTROLLERS:
            raise ValueError(f"controller {controller!r} must be one of {', '.join(CONTROLLERS)}")
        self.controller = controller
        self.default_detectors = self._detectors_from_names(sensors) if sensors is not None else None
        self.registers = dict(registers) if registers else {}
        self.time_scale = time_scale
        self.readout_time = readout_time
        self.daq_store = EmulatedDaqStore(daq_root, self.camera.partition, capacity=daq_capacity)
        self.daq_writer = DaqImageWriter(
            self.daq_store, registers=registers, generator=pixel_generator, processes=write_processes
        )
        self.image_counter = ImageCounter(
            state_file
            if state_file is not None
            else Path(daq_root) / self.camera.partition / f"{name}_image_numbers.json"
        )
        self.image_events = image_events
        self.taken: collections.deque[str] = collections.deque(maxlen=1000)
        """Names of the images taken, oldest first (the last 1000)."""
        self._sequence_task: asyncio.Task[None] | None = None
        self._days_checked: set[int] = set()
        self._end_telemetry_tasks: set[asyncio.Task[None]] = set()
        # Seconds per source to write, measured; used for command timeouts.
        self._seconds_per_source = 0.05 if registers else 0.6
        super().__init__(
            name,
            initial_state=initial_state,
            check_if_duplicate=check_if_duplicate,
            simulation_mode=simulation_mode,
        )

    # --- properties -------------------------------------------------------------

    @property
    def scaled_readout_time(self) -> float:
        """Readout time after `time_scale`."""
        return self.readout_time * self.time_scale

    @property
    def end_telemetry_delay(self) -> float:
        """Delay from ``endReadout`` to ``endOfImageTelemetry`` after `time_scale`."""
        return DEFAULT_END_TELEMETRY_DELAY * self.time_scale

    @property
    def _readout_slots(self) -> int:
        """Array length of ``imageReadoutParameters`` (1 where it has scalars)."""
        sample = self.evt_imageReadoutParameters.DataType()  # type: ignore[attr-defined]
        return len(sample.ccdType) if isinstance(sample.ccdType, list) else 1

    @property
    def busy(self) -> bool:
        """Is an image sequence running?"""
        return self._sequence_task is not None and not self._sequence_task.done()

    # --- commands ---------------------------------------------------------------

    async def do_enterControl(self, data: typing.Any) -> None:
        """Not supported: the simulator is always under OCS control."""
        raise salkit.ExpectedError("enterControl is not supported by the camera simulator")

    async def do_takeImages(self, data: typing.Any) -> None:
        """Take ``numImages`` images of ``expTime`` seconds into the DAQ store."""
        self.assert_enabled("takeImages")
        if self.busy:
            raise salkit.ExpectedError("takeImages not allowed: an image sequence is already running")
        if data.numImages < 1:
            raise salkit.ExpectedError(f"numImages={data.numImages} must be >= 1")
        if not data.expTime >= 0:
            raise salkit.ExpectedError(f"expTime={data.expTime} must be >= 0 seconds")
        try:
            detectors = (
                self._detectors_from_names(split_list(data.sensors))
                if data.sensors.strip()
                else self.default_detectors
            )
            extra = parse_key_value_map(data.keyValueMap)
        except (CameraModelError, KeyValueError) as e:
            raise salkit.ExpectedError(f"takeImages rejected: {e}") from None
        rebs = self.camera.rebs if detectors is None else self.camera.rebs_for(detectors)
        if data.expTime == 0:
            default_image_type = "BIAS"
        else:
            default_image_type = "OBJECT" if data.shutter else "DARK"
        extra.setdefault("imageType", default_image_type)
        extra.setdefault("groupId", tai_unix_to_isot(salkit.current_tai()))
        await self.cmd_takeImages.ack_in_progress(  # type: ignore[attr-defined]
            data, timeout=self._estimate_duration(data.numImages, data.expTime, rebs)
        )
        self._sequence_task = asyncio.create_task(
            self._take_sequence(data, n_images=data.numImages, exp_time=data.expTime, rebs=rebs, extra=extra)
        )
        try:
            await self._sequence_task
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise salkit.ExpectedError(
                f"takeImages interrupted: the camera left ENABLED state (now {self.summary_state!r})"
            ) from None
        except (DaqError, OSError) as e:
            raise salkit.ExpectedError(f"takeImages failed: cannot write into the DAQ store: {e}") from e

    # --- the image sequence -----------------------------------------------------

    async def _take_sequence(
        self, data: typing.Any, *, n_images: int, exp_time: float, rebs: Sequence[Reb], extra: dict[str, str]
    ) -> None:
        warned = False
        locations = [reb.location for reb in rebs]
        detectors = sorted((d for reb in rebs for d in reb.detectors), key=lambda d: d.id)
        acquisition_start = salkit.current_tai()
        try:
            for index in range(1, n_images + 1):
                write_seconds = await self._take_image(
                    index=index,
                    n_images=n_images,
                    exp_time=exp_time,
                    shutter=bool(data.shutter),
                    annotation=data.obsNote[:63],
                    locations=locations,
                    detectors=detectors,
                    extra=extra,
                    acquisition_start=acquisition_start,
                )
                acquisition_start = salkit.current_tai()
                self._seconds_per_source = write_seconds / max(1, len(locations))
                if write_seconds > self.scaled_readout_time and not warned:
                    warned = True
                    self.log.warning(
                        f"Writing image {index} into the DAQ emulator took {write_seconds:.1f} s, longer than "
                        f"the {self.scaled_readout_time:.1f} s readout: the sequence runs slower than the "
                        "real camera's cadence"
                    )
                if index < n_images:
                    await self.cmd_takeImages.ack_in_progress(  # type: ignore[attr-defined]
                        data, timeout=self._estimate_duration(n_images - index, exp_time, rebs)
                    )
            if self._end_telemetry_tasks:
                await asyncio.gather(*self._end_telemetry_tasks)
        except asyncio.CancelledError:
            for task in self._end_telemetry_tasks:
                task.cancel()
            raise

    async def _take_image(
        self,
        *,
        index: int,
        n_images: int,
        exp_time: float,
        shutter: bool,
        annotation: str,
        locations: Sequence[DaqLocation],
        detectors: Sequence[Detector],
        extra: Mapping[str, str],
        acquisition_start: float,
    ) -> float:
        """Take one image; return the seconds spent writing its sources."""
        start_integration = salkit.current_tai()
        day_obs = day_obs_for(start_integration)
        existing: list[str] = []
        if day_obs not in self._days_checked:
            # Once per day: names already in the DAQ catalog (e.g. a lost state file).
            existing = await self.daq_writer.names_since(day_obs_bounds(day_obs)[0])
            self._days_checked.add(day_obs)
        name = self.image_counter.allocate(self.camera.camera_code, self.controller, day_obs, existing)
        self.taken.append(str(name))
        identity = ImageIdentity(
            name=name,
            images_in_sequence=n_images,
            index=index,
            additional=extra,
            acquisition_start=acquisition_start,
        ).event_fields()
        await self._image_event(
            "startIntegration",
            **identity,
            exposureTime=exp_time,
            mode="normal",
            timeout=exp_time,
            force_output=True,
        )
        await asyncio.sleep(exp_time)
        end_integration = salkit.current_tai()
        image = await self.daq_writer.trigger(
            str(name), locations, annotation=annotation, timestamp=end_integration
        )
        await self._image_event(
            "startReadout",
            **identity,
            exposureTime=exp_time,
            timestampStartOfReadout=end_integration,
            force_output=True,
        )
        await self._image_event(
            "imageReadoutParameters",
            **readout_parameters(
                str(name),
                detectors,
                self.registers,
                slots=self._readout_slots,
                folder=image.folder,
                annotation=image.annotation,
            ),
            force_output=True,
        )
        write_seconds, _ = await asyncio.gather(
            self.daq_writer.write_sources(str(name), locations), asyncio.sleep(self.scaled_readout_time)
        )
        end_readout = salkit.current_tai()
        await self._image_event(
            "endReadout",
            **identity,
            requestedExposureTime=exp_time,
            timestampEndOfReadout=end_readout,
            force_output=True,
        )
        end_fields = dict(
            identity,
            exposureTime=exp_time,
            imageTag=image.tag_hex,
            timestampDateObs=start_integration,
            timestampDateEnd=end_integration,
            measuredShutterOpenTime=exp_time if shutter else 0.0,
            darkTime=end_readout - start_integration,
            emulatedImage="",
        )
        task = asyncio.create_task(self._write_end_of_image_telemetry(end_fields))
        self._end_telemetry_tasks.add(task)
        task.add_done_callback(self._end_telemetry_tasks.discard)
        return float(write_seconds)

    async def _write_end_of_image_telemetry(self, fields: dict[str, typing.Any]) -> None:
        await asyncio.sleep(self.end_telemetry_delay)
        await self._image_event("endOfImageTelemetry", **fields, force_output=True)

    # --- helpers ------------------------------------------------------------------

    async def _image_event(self, name: str, **fields: typing.Any) -> None:
        """Write an image event, unless `image_events` is False."""
        if self.image_events:
            await getattr(self, f"evt_{name}").set_write(**fields)

    def _detectors_from_names(self, names: Iterable[str]) -> list[Detector]:
        detectors = [self.camera.detector(name.strip()) for name in names if name.strip()]
        if not detectors:
            raise ValueError("sensors must name at least one detector")
        return detectors

    def _estimate_duration(self, n_images: int, exp_time: float, rebs: Sequence[Reb]) -> float:
        write = self._seconds_per_source * len(rebs) * 1.5
        per_image = exp_time + max(self.scaled_readout_time, write) + self.end_telemetry_delay + 1.0
        return n_images * per_image + 10.0

    async def handle_summary_state(self) -> None:
        """Leaving ENABLED interrupts a running image sequence."""
        if self.summary_state != salkit.State.ENABLED and self.busy:
            assert self._sequence_task is not None
            self._sequence_task.cancel()

    async def close_tasks(self) -> None:
        """Stop the sequence, wait for the DAQ writer thread, close the store."""
        if self._sequence_task is not None:
            self._sequence_task.cancel()
        for task in list(self._end_telemetry_tasks):
            task.cancel()
        await super().close_tasks()
        await asyncio.get_running_loop().run_in_executor(None, self.daq_writer.close)
        self.daq_store.close()

    # --- command line -------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", choices=_CAMERA_COMPONENTS, help="Camera CSC to simulate.")
        parser.add_argument(
            "--daq-root",
            default=os.environ.get("DAQ_STORE_ROOT", ""),
            help="Root directory of the emulated DAQ stores (default: $DAQ_STORE_ROOT).",
        )
        parser.add_argument("--controller", default="O", help="Controller code of the image names.")
        parser.add_argument("--sensors", default="", help="Default detectors, ':'-separated; blank: all.")
        parser.add_argument(
            "--small-amplifiers",
            action="store_true",
            help="Write tiny 12 x 8 amplifiers instead of the real geometry (fast tests).",
        )
        parser.add_argument("--time-scale", type=float, default=1.0, help="Factor on the readout time.")
        parser.add_argument(
            "--write-processes",
            type=int,
            default=0,
            help="Write DAQ sources with this many processes (0: one thread).",
        )

    @classmethod
    def add_kwargs_from_args(cls, args: argparse.Namespace, kwargs: dict[str, typing.Any]) -> None:
        if not args.daq_root:
            raise SystemExit("--daq-root (or $DAQ_STORE_ROOT) is required")
        kwargs.update(
            name=args.name,
            daq_root=args.daq_root,
            controller=args.controller,
            sensors=split_list(args.sensors) or None,
            registers=SMALL_AMPLIFIER_REGISTERS if args.small_amplifiers else None,
            time_scale=args.time_scale,
            write_processes=args.write_processes,
        )
