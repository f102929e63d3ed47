"""A whole simulated camera system in one process.

`start_simulated_system` starts the camera simulator CSC (with its DAQ
store emulator) and the matching Header Service simulator CSC, both
ENABLED by default, on the current SAL transport (the in-memory transport
connects every Domain of the process, so an Archiver CSC in the same
process sees their events). Used by the Archiver's ``--simulate`` mode,
``make demo`` and the tests.

Example::

    async with await start_simulated_system("LSSTComCam", "/tmp/demo") as system:
        names = await system.take_images(3, exp_time=1.0)
        await system.wait_for_headers()
        system.daq_store.find_image(names[0])
"""

from __future__ import annotations

__all__ = ["SimulatedSystem", "start_simulated_system"]

import os
import types
from collections.abc import Iterable, Mapping
from pathlib import Path

from lsst.ts import salkit

from ..camera import Camera, get_camera
from ..daq import EmulatedDaqStore, PixelGenerator
from .camera_csc import CameraSimulatorCsc
from .header_faults import HeaderFaultPolicy
from .header_service_csc import HeaderServiceSimulatorCsc
from .key_values import join_list


class SimulatedSystem:
    """A running camera simulator, DAQ emulator and Header Service simulator.

    Make it with `start_simulated_system`; close it with `close` (or use it
    as an async context manager).

    Attributes
    ----------
    camera : `Camera`
        The simulated camera.
    camera_csc : `CameraSimulatorCsc`
        The camera simulator (SAL component ``camera.csc_name``).
    header_service_csc : `HeaderServiceSimulatorCsc`
        The Header Service simulator (``camera.header_service_name``).
    daq_root : `pathlib.Path`
        Root of the emulated DAQ stores (the partition is
        ``camera.partition``).
    header_root : `str`
        Where header files go (directory or URI).
    """

    def __init__(
        self,
        camera: Camera,
        camera_csc: CameraSimulatorCsc,
        header_service_csc: HeaderServiceSimulatorCsc,
        daq_root: Path,
        header_root: str,
    ) -> None:
        self.camera = camera
        self.camera_csc = camera_csc
        self.header_service_csc = header_service_csc
        self.daq_root = daq_root
        self.header_root = header_root
        self._domain: salkit.Domain | None = None
        self._remote: salkit.Remote | None = None

    @property
    def daq_store(self) -> EmulatedDaqStore:
        """The DAQ store the camera writes into (open it yourself in another process)."""
        return self.camera_csc.daq_store

    @property
    def fault_policy(self) -> HeaderFaultPolicy:
        """The Header Service's fault policy; assign a new one to change it."""
        return self.header_service_csc.fault_policy

    @fault_policy.setter
    def fault_policy(self, policy: HeaderFaultPolicy) -> None:
        self.header_service_csc.fault_policy = policy

    async def _camera_remote(self) -> salkit.Remote:
        if self._remote is None:
            self._domain = salkit.Domain()
            self._remote = salkit.Remote(
                self._domain, self.camera.csc_name, include=["endOfImageTelemetry"], evt_max_history=0
            )
            await self._remote.start_task
        return self._remote

    async def take_images(
        self,
        n_images: int,
        exp_time: float = 0.0,
        *,
        shutter: bool = True,
        sensors: Iterable[str] = (),
        key_values: Mapping[str, str] | None = None,
        obs_note: str = "",
        timeout: float = 60.0,
    ) -> list[str]:
        """Command ``takeImages`` over SAL and wait until it is done.

        Parameters
        ----------
        n_images : `int`
            Number of images.
        exp_time : `float`
            Exposure time of each, seconds.
        shutter : `bool`
            Open the shutter (False: darks, or biases if ``exp_time`` is 0).
        sensors : iterable of `str`
            Detectors to read (``R22_S11``); empty: the simulator's default.
        key_values : `~collections.abc.Mapping` [`str`, `str`], optional
            ``keyValueMap`` entries, e.g. ``{"imageType": "FLAT"}``.
        obs_note : `str`
            Note (also the DAQ annotation).
        timeout : `float`
            Command timeout in seconds before the first in-progress ack
            (the simulator then extends it by its own estimate).

        Returns
        -------
        names : `list` [`str`]
            The image names, in order (every ``endOfImageTelemetry`` has
            been published when this returns; without image events, every
            image is complete in the DAQ store).

        Raises
        ------
        salkit.AckError
            If the camera rejects or fails the command.
        """
        remote = await self._camera_remote()
        topic = remote.evt_endOfImageTelemetry  # type: ignore[attr-defined]
        topic.flush()
        key_value_map = ", ".join(f"{key}: {value}" for key, value in (key_values or {}).items())
        await remote.cmd_takeImages.set_start(  # type: ignore[attr-defined]
            numImages=n_images,
            expTime=exp_time,
            shutter=shutter,
            sensors=join_list(sensors),
            keyValueMap=key_value_map,
            obsNote=obs_note,
            timeout=timeout,
        )
        if not self.camera_csc.image_events:  # the command ends when the last image is read out
            return list(self.camera_csc.taken)[-n_images:]
        names: list[str] = []
        while len(names) < n_images:
            data = await topic.next(flush=False, timeout=timeout)
            names.append(data.imageName)
        return names

    async def wait_for_headers(self) -> None:
        """Wait until the Header Service has written (or dropped) every header so far."""
        await self.header_service_csc.wait_headers()

    async def close(self) -> None:
        """Stop both CSCs and close the DAQ store."""
        if self._remote is not None:
            await self._remote.close()
        if self._domain is not None:
            await self._domain.close()
        await self.header_service_csc.close()
        await self.camera_csc.close()

    async def __aenter__(self) -> SimulatedSystem:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.close()


async def start_simulated_system(
    camera_name: str,
    root_dir: str | os.PathLike[str],
    *,
    header_root: str | os.PathLike[str] | None = None,
    sensors: Iterable[str] | None = None,
    registers: Mapping[str, int] | None = None,
    time_scale: float = 1.0,
    pixel_generator: PixelGenerator | None = None,
    fault_policy: HeaderFaultPolicy | None = None,
    controller: str = "O",
    seed: int = 0,
    write_processes: int = 0,
    image_events: bool = True,
    initial_state: salkit.State = salkit.State.ENABLED,
) -> SimulatedSystem:
    """Start a camera simulator, its DAQ emulator and its Header Service simulator.

    Parameters
    ----------
    camera_name : `str`
        Any name of the camera `lsst.ts.archiver.camera.get_camera` knows
        (``LSSTCam``, ``LSSTComCam``, ``LATISS``, ``MTCamera``, ``CCArchiver`` ...).
    root_dir : `str` or `os.PathLike`
        Working directory: the DAQ stores go to ``root_dir/daq`` and, unless
        ``header_root`` is given, header files to ``root_dir/headers``.
    header_root : `str` or `os.PathLike`, optional
        Directory or URI (``s3://``, ``https://``) for header files.
    sensors : iterable of `str`, optional
        Default detectors of ``takeImages`` (None: all).
    registers : `~collections.abc.Mapping` [`str`, `int`], optional
        Readout geometry override, e.g. `SMALL_AMPLIFIER_REGISTERS`.
    time_scale : `float`
        Factor on the readout time and the ``endOfImageTelemetry`` delay.
    pixel_generator : `PixelGenerator`, optional
        Pixel content.
    fault_policy : `HeaderFaultPolicy`, optional
        Headers to delay or drop.
    controller : `str`
        Controller code of the image names.
    seed : `int`
        Seed of the simulated observatory.
    write_processes : `int`
        Processes writing DAQ sources (0: one thread in this process).
    image_events : `bool`, optional
        False: the camera writes no image events (engineering images under
        camera control; see `CameraSimulatorCsc`).
    initial_state : `salkit.State`
        State both CSCs go to.

    Returns
    -------
    system : `SimulatedSystem`
        Started: both CSCs are in ``initial_state``.
    """
    camera = get_camera(camera_name)
    root = Path(root_dir)
    daq_root = root / "daq"
    headers = os.fspath(header_root) if header_root is not None else os.fspath(root / "headers")
    camera_csc = CameraSimulatorCsc(
        camera.csc_name,
        daq_root,
        controller=controller,
        sensors=sensors,
        registers=registers,
        time_scale=time_scale,
        pixel_generator=pixel_generator,
        write_processes=write_processes,
        image_events=image_events,
        initial_state=initial_state,
    )
    try:
        header_service_csc = HeaderServiceSimulatorCsc(
            camera.header_service_name,
            headers,
            fault_policy=fault_policy,
            seed=seed,
            initial_state=initial_state,
        )
    except BaseException:
        await camera_csc.close()
        raise
    system = SimulatedSystem(camera, camera_csc, header_service_csc, daq_root, headers)
    try:
        await camera_csc.start_task
        await header_service_csc.start_task
    except BaseException:
        await system.close()
        raise
    return system
