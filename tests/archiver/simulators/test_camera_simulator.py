"""The camera simulator CSC: image sequences into the DAQ emulator, as a subscriber sees them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lsst.ts import salkit

from lsst.ts.archiver.camera import LSST_COMCAM, LSSTCAM, Camera, ImageName
from lsst.ts.archiver.daq import EmulatedDaqStore
from lsst.ts.archiver.simulators import (
    SMALL_AMPLIFIER_REGISTERS,
    CameraSimulatorCsc,
    parse_additional,
    split_list,
)
from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until

IMAGE_EVENTS = (
    "startIntegration",
    "startReadout",
    "imageReadoutParameters",
    "endReadout",
    "endOfImageTelemetry",
)
IDENTITY_EVENTS = ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry")


class EventRecorder:
    """Records the camera's image events, as a subscriber (salkit Remote) receives them."""

    def __init__(self, domain: salkit.Domain, name: str) -> None:
        self.remote = salkit.Remote(domain, name, include=[*IMAGE_EVENTS, "summaryState"], evt_max_history=0)
        self.events: list[tuple[str, Any]] = []
        for event in IMAGE_EVENTS:
            getattr(self.remote, f"evt_{event}").callback = self._recorder(event)

    def _recorder(self, event: str) -> Any:
        def record(data: Any) -> None:
            self.events.append((event, data))

        return record

    def in_write_order(self) -> list[tuple[str, Any]]:
        """Events sorted by the time the camera wrote them."""
        return sorted(self.events, key=lambda item: item[1].private_sndStamp)

    def by_image(self) -> dict[str, list[tuple[str, Any]]]:
        images: dict[str, list[tuple[str, Any]]] = {}
        for event, data in self.in_write_order():
            images.setdefault(data.imageName, []).append((event, data))
        return images


async def make_camera(name: str, daq_root: Path, **kwargs: Any) -> CameraSimulatorCsc:
    kwargs.setdefault("initial_state", salkit.State.ENABLED)
    kwargs.setdefault("time_scale", 0.05)
    csc = CameraSimulatorCsc(name, daq_root, **kwargs)
    await csc.start_task
    return csc


@pytest.fixture
async def domain() -> AsyncIterator[salkit.Domain]:
    async with salkit.Domain() as domain:
        yield domain


def check_sequence(
    recorder: EventRecorder, camera: Camera, n_images: int, exp_time: float, extra: dict[str, str]
) -> list[str]:
    """Check event order and consistency of one takeImages sequence; return the image names."""
    images = recorder.by_image()
    assert len(images) == n_images
    names = list(images)
    parsed = [ImageName.parse(name) for name in names]
    assert [p.seq_num for p in parsed] == list(range(parsed[0].seq_num, parsed[0].seq_num + n_images))
    assert {(p.camera_code, p.controller) for p in parsed} == {(camera.camera_code, "O")}
    for index, (name, events) in enumerate(images.items(), start=1):
        assert [event for event, _ in events] == list(IMAGE_EVENTS), name
        data = dict(events)
        for event in IDENTITY_EVENTS:
            sample = data[event]
            assert sample.imagesInSequence == n_images
            assert sample.imageIndex == index
            assert sample.imageSource == camera.camera_code
            assert sample.imageController == "O"
            assert sample.imageDate == ImageName.parse(name).day_obs_str
            assert sample.imageNumber == ImageName.parse(name).seq_num
            assert parse_additional(sample.additionalKeys, sample.additionalValues) == extra
            assert sample.timestampAcquisitionStart == data["startIntegration"].timestampAcquisitionStart
        start, readout, end, eoit = (
            data[e] for e in ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry")
        )
        assert (
            start.exposureTime
            == readout.exposureTime
            == end.requestedExposureTime
            == eoit.exposureTime
            == exp_time
        )
        assert (start.mode, start.timeout) == ("normal", exp_time)
        assert eoit.timestampDateObs <= eoit.timestampDateEnd <= readout.timestampStartOfReadout
        assert eoit.timestampDateEnd - eoit.timestampDateObs >= exp_time
        assert readout.timestampStartOfReadout < end.timestampEndOfReadout
        assert eoit.darkTime >= eoit.measuredShutterOpenTime
        assert eoit.emulatedImage == ""
        assert len(eoit.imageTag) == 16
        assert data["imageReadoutParameters"].daqFolder == "raw"
    # Each image's acquisition starts after the previous image's readout ended.
    ends = [dict(events)["endReadout"].timestampEndOfReadout for events in images.values()]
    starts = [dict(events)["startIntegration"].timestampAcquisitionStart for events in images.values()]
    assert all(later >= earlier for earlier, later in zip(ends[:-1], starts[1:], strict=True))
    return names


def check_daq_images(daq_root: Path, camera: Camera, recorder: EventRecorder, names: list[str]) -> None:
    """Every image is complete in the catalog, tagged as announced, and every source decodes."""
    images = recorder.by_image()
    with EmulatedDaqStore(daq_root, camera.partition, create=False) as store:
        for name in names:
            image = store.find_image(name)
            data = dict(images[name])
            assert image.complete
            assert image.tag_hex == data["endOfImageTelemetry"].imageTag
            assert image.timestamp == data["startReadout"].timestampStartOfReadout
            params = data["imageReadoutParameters"]
            announced = split_list(params.ccdLocation)
            in_daq = sorted(
                (d for loc in image.locations for d in camera.reb(loc).detectors), key=lambda d: d.id
            )
            assert announced == [d.name for d in in_daq]
            for source in image.sources:
                decoded = store.decode_source(name, source.location)
                assert decoded.pixels.shape[2:] == (source.naxis2, source.naxis1)
                assert np.all(decoded.pixels >= 0) and np.all(decoded.pixels < 2**18)
                assert decoded.pixels.std() > 0


@pytest.mark.integration  # the simulated camera end to end at full size: ~7 GB into the DAQ emulator
async def test_comcam_ten_image_sequence_full_geometry(tmp_path: Path, domain: salkit.Domain) -> None:
    recorder = EventRecorder(domain, "CCCamera")
    camera_csc = await make_camera("CCCamera", tmp_path)
    try:
        await recorder.remote.start_task
        extra = {"imageType": "FLAT", "groupId": "2026-11-24T05:00:00.000", "reason": "dome flat"}
        await recorder.remote.cmd_takeImages.set_start(
            numImages=10,
            expTime=0.1,
            shutter=True,
            sensors="",
            keyValueMap=", ".join(f"{k}: {v}" for k, v in extra.items()),
            obsNote="ten flats",
            timeout=STD_TIMEOUT,
        )
        names = check_sequence(recorder, LSST_COMCAM, 10, 0.1, extra)
        for events in recorder.by_image().values():
            params = dict(events)["imageReadoutParameters"]
            assert params.ccdType == [2] * 9  # ComCam is all ITL
            assert params.readCols == [509] * 9 and params.readRows == [2000] * 9
            assert params.daqAnnotation == "ten flats"
            eoit = dict(events)["endOfImageTelemetry"]
            assert eoit.measuredShutterOpenTime == pytest.approx(0.1)
        check_daq_images(tmp_path, LSST_COMCAM, recorder, names)
    finally:
        await camera_csc.close()


async def test_lsstcam_two_image_sequence_small_amplifiers(tmp_path: Path, domain: salkit.Domain) -> None:
    recorder = EventRecorder(domain, "MTCamera")
    camera_csc = await make_camera("MTCamera", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS)
    try:
        await recorder.remote.start_task
        await recorder.remote.cmd_takeImages.set_start(
            numImages=2,
            expTime=0.0,
            shutter=False,
            sensors="",
            keyValueMap="groupId: g1",
            obsNote="",
            timeout=STD_TIMEOUT,
        )
        names = check_sequence(recorder, LSSTCAM, 2, 0.0, {"groupId": "g1", "imageType": "BIAS"})
        for events in recorder.by_image().values():
            params = dict(events)["imageReadoutParameters"]
            assert len(split_list(params.ccdLocation)) == 205
            assert len(params.ccdType) == 201 and set(params.ccdType) == {1, 2}
            assert set(params.readCols) == {8} and set(params.readRows) == {6}
            assert dict(events)["endOfImageTelemetry"].measuredShutterOpenTime == 0.0
        check_daq_images(tmp_path, LSSTCAM, recorder, names)
        with EmulatedDaqStore(tmp_path, "camera", create=False) as store:
            assert len(store.find_image(names[0]).sources) == len(LSSTCAM.rebs) == 71
    finally:
        await camera_csc.close()


async def test_sequence_numbers_continue_after_a_restart(tmp_path: Path, domain: salkit.Domain) -> None:
    names = []
    for _ in range(2):
        recorder = EventRecorder(domain, "ATCamera")
        camera_csc = await make_camera("ATCamera", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS)
        try:
            await recorder.remote.start_task
            await recorder.remote.cmd_takeImages.set_start(
                numImages=2,
                expTime=0.0,
                shutter=False,
                sensors="",
                keyValueMap="",
                obsNote="",
                timeout=STD_TIMEOUT,
            )
            names += list(recorder.by_image())
        finally:
            await recorder.remote.close()
            await camera_csc.close()
    assert [ImageName.parse(n).seq_num for n in names] == [1, 2, 3, 4]


async def test_sequence_numbers_skip_names_already_in_the_daq_store(
    tmp_path: Path, domain: salkit.Domain
) -> None:
    """A lost state file does not make names repeat: the DAQ catalog is consulted."""
    names = []
    for state_file in ("first.json", "second.json"):
        recorder = EventRecorder(domain, "ATCamera")
        camera_csc = await make_camera(
            "ATCamera", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS, state_file=tmp_path / state_file
        )
        try:
            await recorder.remote.start_task
            await recorder.remote.cmd_takeImages.set_start(
                numImages=1,
                expTime=0.0,
                shutter=False,
                sensors="",
                keyValueMap="",
                obsNote="",
                timeout=STD_TIMEOUT,
            )
            names += list(recorder.by_image())
        finally:
            await recorder.remote.close()
            await camera_csc.close()
    assert [ImageName.parse(n).seq_num for n in names] == [1, 2]


async def test_sensors_subset_writes_only_the_rebs_reading_them(
    tmp_path: Path, domain: salkit.Domain
) -> None:
    recorder = EventRecorder(domain, "CCCamera")
    camera_csc = await make_camera("CCCamera", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS)
    try:
        await recorder.remote.start_task
        await recorder.remote.cmd_takeImages.set_start(
            numImages=1,
            expTime=0.0,
            shutter=False,
            sensors="R22_S11",
            keyValueMap="",
            obsNote="",
            timeout=STD_TIMEOUT,
        )
        (name,) = recorder.by_image()
        params = dict(recorder.by_image()[name])["imageReadoutParameters"]
        assert split_list(params.ccdLocation) == ["R22_S10", "R22_S11", "R22_S12"]
        assert params.ccdType[3:] == [0] * 6
        with EmulatedDaqStore(tmp_path, "comcam", create=False) as store:
            assert [str(loc) for loc in store.find_image(name).locations] == ["R22/Reb1"]
    finally:
        await camera_csc.close()


async def test_take_images_is_rejected_with_a_reason(tmp_path: Path, domain: salkit.Domain) -> None:
    camera_csc = await make_camera(
        "CCCamera", tmp_path, initial_state=salkit.State.DISABLED, registers=SMALL_AMPLIFIER_REGISTERS
    )
    remote = salkit.Remote(domain, "CCCamera")
    try:
        await remote.start_task
        args = dict(
            numImages=1,
            expTime=0.0,
            shutter=False,
            sensors="",
            keyValueMap="",
            obsNote="",
            timeout=STD_TIMEOUT,
        )
        async with salkit.assertRaisesAckError(result_contains="takeImages not allowed"):
            await remote.cmd_takeImages.set_start(**args)
        await remote.cmd_enable.start(timeout=STD_TIMEOUT)
        for bad, message in [
            ({"sensors": "R99_S11"}, "R99_S11"),
            ({"keyValueMap": "imageType OBJECT"}, "has no ':'"),
            ({"numImages": 0}, "numImages=0"),
            ({"expTime": -1.0}, "expTime=-1.0"),
        ]:
            async with salkit.assertRaisesAckError(result_contains=message):
                await remote.cmd_takeImages.set_start(**(args | bad))
        async with salkit.assertRaisesAckError(result_contains="not supported"):
            await remote.cmd_enterControl.start(timeout=STD_TIMEOUT)
        assert camera_csc.daq_store.list_images() == []
    finally:
        await remote.close()
        await camera_csc.close()


async def test_disable_interrupts_a_running_sequence(tmp_path: Path, domain: salkit.Domain) -> None:
    camera_csc = await make_camera("CCCamera", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS)
    remote = salkit.Remote(domain, "CCCamera")
    try:
        await remote.start_task
        args = dict(
            numImages=3,
            expTime=30.0,
            shutter=True,
            sensors="",
            keyValueMap="",
            obsNote="",
            timeout=STD_TIMEOUT,
        )
        sequence = asyncio.create_task(remote.cmd_takeImages.set_start(**args))
        await wait_until(lambda: camera_csc.busy, what="the sequence to start")
        await remote.cmd_disable.start(timeout=STD_TIMEOUT)
        with pytest.raises(salkit.AckError, match="interrupted"):
            await asyncio.wait_for(sequence, timeout=STD_TIMEOUT)
        assert not camera_csc.busy
        assert camera_csc.daq_store.list_images() == []  # stopped during the first integration
    finally:
        await remote.close()
        await camera_csc.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "XXCamera"}, "must be one of ATCamera"),
        ({"controller": "Z"}, "controller 'Z'"),
        ({"time_scale": 0.0}, "time_scale=0.0"),
        ({"sensors": ["R99_S11"]}, "R99_S11"),
    ],
)
async def test_bad_constructor_arguments_are_rejected(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"name": "CCCamera", "daq_root": tmp_path} | kwargs
    with pytest.raises(ValueError, match=message):
        CameraSimulatorCsc(**arguments)


async def test_default_image_type_follows_shutter_and_exposure_time(
    tmp_path: Path, domain: salkit.Domain
) -> None:
    recorder = EventRecorder(domain, "ATCamera")
    camera_csc = await make_camera("ATCamera", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS)
    try:
        await recorder.remote.start_task
        for exp_time, shutter in [(0.0, False), (0.05, False), (0.05, True)]:
            await recorder.remote.cmd_takeImages.set_start(
                numImages=1,
                expTime=exp_time,
                shutter=shutter,
                sensors="",
                keyValueMap="",
                obsNote="",
                timeout=STD_TIMEOUT,
            )
        types = [
            parse_additional(data.additionalKeys, data.additionalValues)["imageType"]
            for event, data in recorder.in_write_order()
            if event == "startIntegration"
        ]
        assert types == ["BIAS", "DARK", "OBJECT"]
        params = [data for event, data in recorder.in_write_order() if event == "imageReadoutParameters"]
        assert params[0].ccdLocation == "R00_S00" and params[0].ccdType == 2  # LATISS: scalars
    finally:
        await camera_csc.close()


async def test_a_full_daq_store_fails_the_command_with_the_reason(
    tmp_path: Path, domain: salkit.Domain
) -> None:
    camera_csc = await make_camera("CCCamera", tmp_path, daq_capacity=1000)  # smaller than one image
    remote = salkit.Remote(domain, "CCCamera")
    try:
        await remote.start_task
        async with salkit.assertRaisesAckError(result_contains="cannot write into the DAQ store"):
            await remote.cmd_takeImages.set_start(
                numImages=1,
                expTime=0.0,
                shutter=False,
                sensors="",
                keyValueMap="",
                obsNote="",
                timeout=STD_TIMEOUT,
            )
        assert camera_csc.summary_state == salkit.State.ENABLED
    finally:
        await remote.close()
        await camera_csc.close()


async def test_sources_written_by_a_process_pool(tmp_path: Path, domain: salkit.Domain) -> None:
    recorder = EventRecorder(domain, "CCCamera")
    camera_csc = await make_camera(
        "CCCamera", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS, write_processes=2
    )
    try:
        await recorder.remote.start_task
        await recorder.remote.cmd_takeImages.set_start(
            numImages=2,
            expTime=0.0,
            shutter=False,
            sensors="",
            keyValueMap="groupId: g2",
            obsNote="",
            timeout=STD_TIMEOUT,
        )
        names = check_sequence(recorder, LSST_COMCAM, 2, 0.0, {"groupId": "g2", "imageType": "BIAS"})
        check_daq_images(tmp_path, LSST_COMCAM, recorder, names)
    finally:
        await camera_csc.close()
