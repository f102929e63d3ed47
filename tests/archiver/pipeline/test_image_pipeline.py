"""`ImagePipeline`: retries, faults, images missing from the DAQ, resume, side files reused after a restart.

The capture pool is scripted (no worker processes), delivery is a recording
fake that keeps the ledger as `DeliveryService` would; the DAQ store, the
staging area, the ledger and its runner are real.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lsst.ts.archiver.camera import LSST_COMCAM
from lsst.ts.archiver.capture import (
    CaptureOptions,
    CapturePool,
    CaptureStatus,
    CaptureTask,
    DetectorOutcome,
    SourceOutcome,
)
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.error_codes import ErrorCode
from lsst.ts.archiver.fits import ExposureMetadata
from lsst.ts.archiver.ledger import CaptureMeasurements, CaptureState, Ledger, LedgerRunner, Trigger
from lsst.ts.archiver.pipeline import HeaderTracker, ImagePipeline, PipelineSettings
from lsst.ts.archiver.pipeline.header_policy import HeaderFetchPolicy
from lsst.ts.archiver.staging import StagingArea
from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until

NAME = "CC_O_20261123_000042"
CAMERA = LSST_COMCAM
ALL_DETECTORS = [d.name for d in CAMERA.detectors]

#: Tiny amplifiers (12 x 8 pixels), so writing whole images to the DAQ store is quick.
SMALL_REGISTERS = {"UnderCols": 2, "ReadCols": 8, "ReadCols2": 0, "OverCols": 2, "ReadRows": 6, "OverRows": 2}

LOG_NAME = "test.ImagePipeline"


class ScriptedPool(CapturePool):
    """A capture pool that returns chosen outcomes instead of capturing.

    ``script[detector]`` lists the statuses of that detector's successive
    attempts; once used up (or for other detectors) an attempt succeeds.
    """

    def __init__(
        self, staging: StagingArea, script: Mapping[str, Sequence[CaptureStatus]] | None = None
    ) -> None:
        self.staging = staging
        self.script = {name: list(statuses) for name, statuses in (script or {}).items()}
        self.tasks: list[CaptureTask] = []

    async def start(self) -> None:
        pass

    async def run(self, task: CaptureTask) -> SourceOutcome:
        self.tasks.append(task)
        outcomes = []
        for name in task.detectors:
            statuses = self.script.get(name)
            status = statuses.pop(0) if statuses else CaptureStatus.OK
            if status is CaptureStatus.OK:
                outcome = DetectorOutcome(
                    name=name,
                    number=-1,
                    status=status,
                    description=f"{name} written",
                    path=str(self.staging.image_dir(task.obsid) / f"{task.obsid}_{name}.fits"),
                    size=1000,
                    retrieval_time=0.25,
                    write_time=0.5,
                    median_signal=123.0,
                    noise=float("nan"),
                    header_merged=task.header_text is not None,
                )
            else:
                outcome = DetectorOutcome(
                    name=name, number=-1, status=status, description=f"{status.name} for {name}"
                )
            outcomes.append(outcome)
        return SourceOutcome(task.obsid, task.location, tuple(outcomes))

    @property
    def workers_alive(self) -> int:
        return 1

    async def close(self) -> None:
        pass


@dataclass(frozen=True)
class Written:
    obsid: str
    detector: str
    path: str
    size: int | None
    measurements: CaptureMeasurements | None


@dataclass(frozen=True)
class Failed:
    obsid: str
    detector: str
    reason: str
    status: int | None


class RecordingDelivery:
    """Records what the pipeline hands to delivery and keeps the ledger as `DeliveryService` does."""

    def __init__(self, runner: LedgerRunner) -> None:
        self.runner = runner
        self.written: list[Written] = []
        self.failed: list[Failed] = []
        self.manifests: list[tuple[str, str]] = []

    async def register_image(
        self,
        obsid: str,
        *,
        camera: str,
        day_obs: int,
        expected: Mapping[str, int],
        trigger: Trigger = Trigger.LIVE,
        header_source: str | None = None,
        priority: int = 0,
        image_type: str | None = None,
    ) -> bool:
        return await self.runner.run(
            self.runner.ledger.register_image,
            obsid,
            camera=camera,
            day_obs=day_obs,
            expected=expected,
            trigger=trigger,
            header_source=header_source,
            priority=priority,
            image_type=image_type,
        )

    async def manifest_written(self, obsid: str, path: str) -> None:
        self.manifests.append((obsid, path))
        await self.runner.run(self.runner.ledger.set_manifest, obsid, path)

    async def file_written(
        self,
        obsid: str,
        detector: str,
        path: str,
        *,
        size: int | None = None,
        checksum: str | None = None,
        measurements: CaptureMeasurements | None = None,
    ) -> None:
        self.written.append(Written(obsid, detector, path, size, measurements))
        await self.runner.run(self.runner.ledger.record_capture, obsid, detector, path=path, size=size)

    async def capture_failed(
        self, obsid: str, detector: str, reason: str, *, status: int | None = None
    ) -> None:
        self.failed.append(Failed(obsid, detector, reason, status))
        await self.runner.run(self.runner.ledger.record_capture_failure, obsid, detector, reason)


@dataclass
class RecordingReporter:
    """A `PipelineReporter` that keeps everything it is told."""

    captured: list[tuple[str, DetectorOutcome]] = field(default_factory=list)
    images: dict[str, list[DetectorOutcome]] = field(default_factory=dict)
    faults: list[tuple[ErrorCode, str]] = field(default_factory=list)

    async def detector_captured(self, obsid: str, outcome: DetectorOutcome) -> None:
        self.captured.append((obsid, outcome))

    async def image_captured(self, obsid: str, outcomes: Sequence[DetectorOutcome]) -> None:
        self.images[obsid] = list(outcomes)

    def pipeline_fault(self, code: ErrorCode, report: str) -> None:
        self.faults.append((code, report))


@dataclass
class Harness:
    """Real DAQ store, staging area, ledger and runner below one directory."""

    root: Path
    store: EmulatedDaqStore
    ledger: Ledger
    runner: LedgerRunner
    staging: StagingArea

    def add_image(self, name: str, locations: Sequence[str] | None = None) -> None:
        self.store.add_image(
            name,
            generator=PixelGenerator(cosmic_rays=0, saturated_spots=0),
            locations=locations,
            registers=SMALL_REGISTERS,
        )

    def pipeline(
        self,
        pool: CapturePool,
        *,
        headers: HeaderTracker | None = None,
        daq_wait_timeout: float = STD_TIMEOUT,
    ) -> tuple[ImagePipeline, RecordingDelivery, RecordingReporter]:
        delivery = RecordingDelivery(self.runner)
        reporter = RecordingReporter()
        options = CaptureOptions(
            daq_root=str(self.root / "daq"),
            partition=CAMERA.partition,
            folder="raw",
            staging=str(self.staging.root),
        )
        settings = PipelineSettings(
            daq_wait_timeout=daq_wait_timeout,
            header_wait_timeout=STD_TIMEOUT,
            capture_attempts=3,
            retry_delay=0.01,
        )
        pipeline = ImagePipeline(
            CAMERA,
            self.store,
            pool,
            delivery,  # type: ignore[arg-type]
            self.runner,
            headers or HeaderTracker(),
            self.staging,
            options,
            settings,
            reporter,
            log=logging.getLogger(LOG_NAME),
        )
        return pipeline, delivery, reporter

    def states(self, obsid: str) -> dict[str, CaptureState]:
        return {d.name: d.state for d in self.ledger.detectors(obsid)}


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    store = EmulatedDaqStore(tmp_path / "daq", CAMERA.partition, camera=CAMERA)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", create=True)
    runner = LedgerRunner(ledger)
    try:
        yield Harness(tmp_path, store, ledger, runner, StagingArea(tmp_path / "staging"))
    finally:
        runner.close()
        ledger.close()
        store.close()


async def test_a_transient_failure_is_retried_then_succeeds(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.add_image(NAME)
    pool = ScriptedPool(harness.staging, {"R22_S01": [CaptureStatus.SOURCE_INCOMPLETE]})
    pipeline, delivery, reporter = harness.pipeline(pool)
    with caplog.at_level(logging.INFO, logger=LOG_NAME):
        await asyncio.wait_for(pipeline.archive(NAME, trigger=Trigger.LIVE), STD_TIMEOUT)

    reb0 = [t.detectors for t in pool.tasks if t.location == "R22/Reb0"]
    assert reb0 == [("R22_S00", "R22_S01", "R22_S02"), ("R22_S01",)], "only the failed detector is retried"
    assert sorted(w.detector for w in delivery.written) == sorted(ALL_DETECTORS)
    assert delivery.failed == [] and reporter.faults == []
    assert [o.name for o in reporter.images[NAME]] == ALL_DETECTORS
    assert all(o.status is CaptureStatus.OK for o in reporter.images[NAME])
    assert [o.number for _, o in reporter.captured if o.name == "R22_S01"] == [1], "reported once, when final"
    assert set(harness.states(NAME).values()) == {CaptureState.WRITTEN}
    retries = [r.getMessage() for r in caplog.records if r.name == LOG_NAME and "retrying" in r.getMessage()]
    assert len(retries) == 1 and "R22_S01" in retries[0] and "attempt 1 of 3" in retries[0]
    assert delivery.manifests == [(NAME, str(harness.staging.manifest_path(NAME)))]


async def test_delivery_gets_each_detectors_measurements_with_unknown_statistics_as_zero(
    harness: Harness,
) -> None:
    harness.add_image(NAME, locations=["R22/Reb1"])
    pipeline, delivery, _ = harness.pipeline(ScriptedPool(harness.staging))
    await asyncio.wait_for(pipeline.archive(NAME, trigger=Trigger.LIVE), STD_TIMEOUT)
    measurements = {w.detector: w.measurements for w in delivery.written}
    expected = CaptureMeasurements(retrieval_time=0.25, write_time=0.5, median_signal=123.0, noise=0.0)
    assert measurements == {name: expected for name in ("R22_S10", "R22_S11", "R22_S12")}
    assert {w.size for w in delivery.written} == {1000}


async def test_a_transient_failure_is_final_after_the_last_attempt(harness: Harness) -> None:
    harness.add_image(NAME, locations=["R22/Reb2"])
    pool = ScriptedPool(harness.staging, {"R22_S22": [CaptureStatus.CORRUPT_DATA] * 3})
    pipeline, delivery, reporter = harness.pipeline(pool)
    await asyncio.wait_for(pipeline.archive(NAME, trigger=Trigger.LIVE), STD_TIMEOUT)
    assert [t.detectors for t in pool.tasks][1:] == [("R22_S22",), ("R22_S22",)]
    [failed] = delivery.failed
    assert (failed.detector, failed.status) == ("R22_S22", int(CaptureStatus.CORRUPT_DATA))
    assert failed.reason.startswith("CORRUPT_DATA (5): ")
    assert harness.states(NAME)["R22_S22"] is CaptureState.FAILED
    assert reporter.faults == []


async def test_a_fault_worthy_status_reports_a_fault_and_leaves_the_image_pending(harness: Harness) -> None:
    harness.add_image(NAME, locations=["R22/Reb1"])
    pool = ScriptedPool(harness.staging, {"R22_S11": [CaptureStatus.STAGING_FULL]})
    pipeline, delivery, reporter = harness.pipeline(pool)
    assert pipeline.start_image(NAME, trigger=Trigger.LIVE)
    await wait_until(lambda: reporter.faults, what="a pipeline fault")
    await asyncio.wait_for(pipeline.wait_idle(), STD_TIMEOUT)

    [(code, report)] = reporter.faults
    assert code is ErrorCode.STAGING_FULL
    assert NAME in report and "R22_S11" in report
    states = harness.states(NAME)
    assert states["R22_S11"] is CaptureState.PENDING
    assert [w.detector for w in delivery.written] == ["R22_S10", "R22_S12"], "good files are still recorded"
    assert delivery.failed == [] and NAME not in reporter.images
    assert harness.ledger.image(NAME).archived_at is None

    # After recovery the image is resumed: only the pending detector is captured again.
    assert await pipeline.resume() == [NAME]
    await asyncio.wait_for(pipeline.wait_idle(), STD_TIMEOUT)
    assert [t.detectors for t in pool.tasks] == [("R22_S10", "R22_S11", "R22_S12"), ("R22_S11",)]
    assert set(harness.states(NAME).values()) == {CaptureState.WRITTEN}


async def test_an_unwritable_staging_area_is_a_fault_before_any_capture(harness: Harness) -> None:
    harness.add_image(NAME, locations=["R22/Reb0"])
    harness.staging.root.write_text("a file, not a directory")
    pool = ScriptedPool(harness.staging)
    pipeline, _, reporter = harness.pipeline(pool)
    await asyncio.wait_for(
        pipeline.archive(NAME, trigger=Trigger.LIVE, metadata=ExposureMetadata(obsid=NAME)), STD_TIMEOUT
    )
    [(code, report)] = reporter.faults
    assert code is ErrorCode.STAGING_NOT_WRITABLE and str(harness.staging.root) in report
    assert pool.tasks == []


async def test_an_image_missing_from_the_daq_is_image_not_found_per_detector(harness: Harness) -> None:
    missing = "CC_O_20261123_000099"
    pool = ScriptedPool(harness.staging)
    pipeline, delivery, reporter = harness.pipeline(pool, daq_wait_timeout=0.2)
    await asyncio.wait_for(pipeline.archive(missing, trigger=Trigger.COMMANDED), STD_TIMEOUT)

    assert pool.tasks == []
    assert [f.detector for f in delivery.failed] == ALL_DETECTORS
    assert {f.status for f in delivery.failed} == {int(CaptureStatus.IMAGE_NOT_FOUND)}
    assert "not found in DAQ folder 'raw' of partition 'comcam'" in delivery.failed[0].reason
    assert [(o.name, o.status) for o in reporter.images[missing]] == [
        (name, CaptureStatus.IMAGE_NOT_FOUND) for name in ALL_DETECTORS
    ]
    assert set(harness.states(missing).values()) == {CaptureState.FAILED}
    assert reporter.faults == []


async def test_resume_restarts_only_images_with_pending_detectors(harness: Harness) -> None:
    done, pending, failed = (f"CC_O_20261123_00001{i}" for i in range(3))
    expected = {d.name: d.id for d in CAMERA.detectors}
    for name in (done, pending, failed):
        harness.add_image(name)
        harness.ledger.register_image(
            name, camera=CAMERA.name, day_obs=20261123, expected=expected, trigger=Trigger.COMMANDED
        )
        for detector in ALL_DETECTORS:
            if (name, detector) == (pending, "R22_S21"):
                continue
            if (name, detector) == (failed, "R22_S21"):
                harness.ledger.record_capture_failure(name, detector, "CORRUPT_DATA (5): bad")
                continue
            harness.ledger.record_capture(name, detector, path=f"/staging/{name}_{detector}.fits", size=1)
    pool = ScriptedPool(harness.staging)
    pipeline, delivery, _ = harness.pipeline(pool)

    assert await pipeline.resume() == [pending]
    await asyncio.wait_for(pipeline.wait_idle(), STD_TIMEOUT)
    assert [(t.obsid, t.location, t.detectors) for t in pool.tasks] == [(pending, "R22/Reb2", ("R22_S21",))]
    assert [(w.obsid, w.detector) for w in delivery.written] == [(pending, "R22_S21")]
    assert harness.states(pending)["R22_S21"] is CaptureState.WRITTEN
    assert await pipeline.resume() == [], "nothing pending any more"


async def test_saved_metadata_and_header_are_reused_after_a_restart(harness: Harness) -> None:
    harness.add_image(NAME, locations=["R22/Reb0"])
    header_file = harness.root / "header.yaml"
    header_file.write_text(f"PRIMARY:\n- {{keyword: OBSID, value: {NAME}}}\n")
    headers = HeaderTracker(
        policy=HeaderFetchPolicy(schemes=frozenset({"file"}), file_root=str(harness.root))
    )
    headers.announce(NAME, header_file.as_uri(), hashlib.md5(header_file.read_bytes()).hexdigest())
    metadata = ExposureMetadata(obsid=NAME, imgtype="FLAT", exptime=15.0, extra={"REASON": "twilight"})

    # First run: the DAQ store goes away during capture (FAULT); the image stays pending.
    first_pool = ScriptedPool(
        harness.staging, {name: [CaptureStatus.DAQ_UNAVAILABLE] for name in ("R22_S00", "R22_S01", "R22_S02")}
    )
    first, _, first_reporter = harness.pipeline(first_pool, headers=headers)
    await asyncio.wait_for(
        first.archive(NAME, trigger=Trigger.LIVE, metadata=metadata, wait_for_header=True), STD_TIMEOUT
    )
    assert [code for code, _ in first_reporter.faults] == [ErrorCode.DAQ_STORE_UNAVAILABLE]
    [first_task] = first_pool.tasks
    assert first_task.metadata == metadata and first_task.header_source == header_file.as_uri()
    assert harness.staging.metadata_path(NAME).exists() and harness.staging.header_path(NAME).exists()
    header_file.unlink()

    # After a restart neither the camera events nor the announcement are known: the side files are.
    pool = ScriptedPool(harness.staging)
    restarted, delivery, reporter = harness.pipeline(pool, headers=HeaderTracker())
    assert await restarted.resume() == [NAME]
    await asyncio.wait_for(restarted.wait_idle(), STD_TIMEOUT)
    [task] = pool.tasks
    assert task.metadata == metadata
    assert task.header_text == f"PRIMARY:\n- {{keyword: OBSID, value: {NAME}}}\n"
    assert task.header_source == "saved"
    assert [w.detector for w in delivery.written] == ["R22_S00", "R22_S01", "R22_S02"]
    assert harness.ledger.image(NAME).header_source == "HeaderService"
    assert reporter.faults == []
