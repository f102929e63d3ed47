"""The Header Service simulator: header files, largeFileObjectAvailable, delays and drops."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lsst.resources import ResourcePath
from lsst.ts import salkit

from lsst.ts.archiver.fits import parse_header_file
from lsst.ts.archiver.simulators import (
    SMALL_AMPLIFIER_REGISTERS,
    HeaderFaultPolicy,
    SimulatedSystem,
    camera_csc,
    start_simulated_system,
)
from lsst.ts.archiver.testing import wait_until


class HeaderRecorder:
    """Records largeFileObjectAvailable of a Header Service, as a subscriber sees it."""

    def __init__(self, domain: salkit.Domain, name: str) -> None:
        self.remote = salkit.Remote(domain, name, include=["largeFileObjectAvailable"], evt_max_history=0)
        self.samples: list[Any] = []
        self.remote.evt_largeFileObjectAvailable.callback = self.samples.append

    async def wait_for(self, count: int) -> list[Any]:
        """Wait until ``count`` announcements have arrived; return them all."""
        await wait_until(lambda: len(self.samples) >= count, what=f"{count} largeFileObjectAvailable samples")
        return self.samples


@pytest.fixture
async def comcam(tmp_path: Path) -> AsyncIterator[tuple[SimulatedSystem, HeaderRecorder]]:
    async with salkit.Domain() as domain:
        recorder = HeaderRecorder(domain, "CCHeaderService")
        await recorder.remote.start_task
        system = await start_simulated_system(
            "LSSTComCam", tmp_path, registers=SMALL_AMPLIFIER_REGISTERS, time_scale=0.05, seed=5
        )
        try:
            yield system, recorder
        finally:
            await system.close()


def check_header_file(sample: Any, system: SimulatedSystem, exp_time: float, n_images: int) -> None:
    data = ResourcePath(sample.url).read()
    assert hashlib.md5(data).hexdigest() == sample.checkSum
    assert len(data) == sample.byteSize
    assert (sample.mimeType, sample.generator, sample.version) == (
        "YAML",
        system.camera.header_service_name,
        1.0,
    )
    header = parse_header_file(data, source=sample.url)
    assert header.obsid == sample.id
    primary = {card.keyword: card.value for card in header.primary}
    image = system.daq_store.find_image(sample.id)
    assert primary["IMAGETAG"] == image.tag_hex
    assert (primary["EXPTIME"], primary["MAXINDEX"], primary["INSTRUME"]) == (exp_time, n_images, "ComCam")
    assert set(header.detectors) == {d.name for d in system.camera.detectors}
    assert len(header.segments) == 9 * 16


async def test_every_image_gets_an_announced_header_that_parses_and_matches_its_md5(
    comcam: tuple[SimulatedSystem, HeaderRecorder],
) -> None:
    system, recorder = comcam
    names = await system.take_images(3, 0.2, key_values={"imageType": "OBJECT", "groupId": "g1"})
    await recorder.wait_for(3)
    assert [s.id for s in recorder.samples] == names
    for sample in recorder.samples:
        assert sample.url.startswith("file://") and sample.url.endswith(
            f"CCHeaderService_header_{sample.id}.yaml"
        )
        check_header_file(sample, system, 0.2, 3)
    # Images of one group share the pointing.
    headers = [parse_header_file(ResourcePath(s.url).read()) for s in recorder.samples]
    ras = {next(c.value for c in h.primary if c.keyword == "RASTART") for h in headers}
    assert len(ras) == 1


async def test_dropped_headers_are_never_written_or_announced(
    comcam: tuple[SimulatedSystem, HeaderRecorder],
) -> None:
    system, recorder = comcam
    system.fault_policy = HeaderFaultPolicy(drop_probability=1.0)
    names = await system.take_images(2)
    await system.wait_for_headers()
    assert system.header_service_csc.dropped == names
    assert not any(Path(system.header_root).rglob("*.yaml"))
    # A later image with a header: had the dropped ones been announced, they would come first.
    system.fault_policy = HeaderFaultPolicy()
    later = await system.take_images(1)
    await recorder.wait_for(1)
    assert [s.id for s in recorder.samples] == later


async def test_headers_dropped_or_delayed_by_image_name(
    comcam: tuple[SimulatedSystem, HeaderRecorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    system, recorder = comcam
    # The names the camera will give, whatever today's date: its images are of one fixed day_obs.
    day_obs = 20261123
    monkeypatch.setattr(camera_csc, "day_obs_for", lambda tai: day_obs)
    last = system.camera_csc.image_counter.last("CC", day_obs)
    first, second, third = (f"CC_O_{day_obs}_{last + i:06d}" for i in (1, 2, 3))
    system.fault_policy = HeaderFaultPolicy(drop_images=[first], delay_images={second: 3.0})
    camera = salkit.Remote(
        system.header_service_csc.domain, "CCCamera", include=["endOfImageTelemetry"], evt_max_history=0
    )
    ends: dict[str, float] = {}
    camera.evt_endOfImageTelemetry.callback = lambda data: ends.__setitem__(
        data.imageName, data.private_sndStamp
    )
    await camera.start_task
    try:
        names = await system.take_images(3)
        assert names == [first, second, third]
        await recorder.wait_for(2)  # the delayed one last: had the dropped one come, it would be first
    finally:
        await camera.close()
    by_id = {s.id: s for s in recorder.samples}
    assert set(by_id) == {second, third}
    assert [s.id for s in recorder.samples] == [third, second]  # the delayed one comes last
    assert by_id[second].private_sndStamp - ends[second] >= 3.0
    assert system.header_service_csc.dropped == [first]


async def test_no_headers_while_the_header_service_is_disabled(
    comcam: tuple[SimulatedSystem, HeaderRecorder],
) -> None:
    system, recorder = comcam
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "CCHeaderService", include=["summaryState"])
        await remote.start_task
        await salkit.set_summary_state(remote, salkit.State.DISABLED)
        await system.take_images(1)
        await system.wait_for_headers()
        await salkit.set_summary_state(remote, salkit.State.ENABLED)
        names = await system.take_images(1)
        await recorder.wait_for(1)  # had the DISABLED image's header come, it would be first
        await remote.close()
    assert [s.id for s in recorder.samples] == names


@pytest.mark.integration  # a SeaweedFS server
async def test_headers_go_to_an_s3_bucket(tmp_path: Path, s3_bucket: str) -> None:
    async with salkit.Domain() as domain:
        recorder = HeaderRecorder(domain, "CCHeaderService")
        await recorder.remote.start_task
        async with await start_simulated_system(
            "LSSTComCam",
            tmp_path,
            header_root=f"s3://{s3_bucket}/headers",
            registers=SMALL_AMPLIFIER_REGISTERS,
            time_scale=0.05,
        ) as system:
            names = await system.take_images(2)
            await recorder.wait_for(2)
            assert [s.id for s in recorder.samples] == names
            for sample in recorder.samples:
                assert sample.url.startswith(f"s3://{s3_bucket}/headers/CCHeaderService/header/")
                check_header_file(sample, system, 0.0, 2)
