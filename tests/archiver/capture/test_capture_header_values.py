"""No Header Service value can cost an image: capture of a real emulated DAQ
image with a bad header value writes a file that fitsverify accepts, that
translates and that ingests; a merged header that cannot be translated gives
way to the Archiver's own metadata; a file whose own metadata cannot be
translated is kept in staging and recorded as finally failed in the ledger."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from astropy.time import Time
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import RawIngester, create_repository, raw_run
from lsst.ts.archiver.camera import LATISS
from lsst.ts.archiver.capture import (
    CaptureOptions,
    CapturePool,
    CaptureStatus,
    CaptureTask,
    DetectorOutcome,
    SourceOutcome,
    capture_source,
)
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.delivery import DeliveryService
from lsst.ts.archiver.error_codes import ErrorCode
from lsst.ts.archiver.fits import (
    Card,
    ExposureMetadata,
    HeaderServiceFile,
    mjd_from_tai_unix,
    render_header_file,
    tai_unix_to_isot,
)
from lsst.ts.archiver.ledger import CaptureState, Ledger, LedgerRunner, Trigger
from lsst.ts.archiver.metadata import read_sidecar, sidecar_path_for, translate_primary_header
from lsst.ts.archiver.pipeline import HeaderTracker, ImagePipeline, PipelineSettings
from lsst.ts.archiver.staging import StagingArea
from lsst.ts.archiver.testing import TAI_BEGIN, open_verified, run_fitsverify

NAME = "AT_O_20261123_000007"
DETECTOR = LATISS.detectors[0]
LOCATION = str(LATISS.reb_for(DETECTOR).location)

#: The Archiver's own metadata (camera events); times fixed, whatever today's date.
OWN = ExposureMetadata(
    obsid=NAME, imgtype="FLAT", exptime=2.0, date_beg=TAI_BEGIN, date_end=TAI_BEGIN + 2.0, groupid="g-1"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmulatedDaqStore]:
    daq = EmulatedDaqStore(tmp_path / "daq", LATISS.partition)
    daq.add_image(NAME, generator=PixelGenerator(signal=1000.0, cosmic_rays=0, saturated_spots=0))
    try:
        yield daq
    finally:
        daq.close()


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Butler]:
    butler = create_repository(tmp_path / "repo", instruments=["LATISS"])
    try:
        yield butler
    finally:
        butler.close()


def options(tmp_path: Path) -> CaptureOptions:
    return CaptureOptions(
        daq_root=str(tmp_path / "daq"),
        partition=LATISS.partition,
        folder="raw",
        staging=str(tmp_path / "staging"),
    )


def header_text(*cards: Card) -> str:
    return render_header_file(
        HeaderServiceFile(
            primary=(Card("OBSID", NAME), Card("IMGTYPE", "OBJECT"), Card("OBJECT", "HD 12345"), *cards),
            source="test.yaml",
        )
    )


def capture(tmp_path: Path, text: str | None, metadata: ExposureMetadata = OWN) -> DetectorOutcome:
    task = CaptureTask(
        options=options(tmp_path),
        obsid=NAME,
        location=LOCATION,
        detectors=(DETECTOR.name,),
        metadata=metadata,
        header_text=text,
        header_source="test.yaml",
    )
    [outcome] = capture_source(task).detectors
    return outcome


def ingest(repo: Butler, path: Path) -> None:
    report = RawIngester(repo).ingest([path])
    assert report.ok, report.failed
    refs = repo.query_datasets("raw", collections=raw_run("LATISS"), instrument="LATISS", explain=False)
    assert len(refs) == 1


@pytest.mark.parametrize(
    "bad, dropped, own_keyword, own_value",
    [
        (Card("DATE-BEG", "yesterday"), "DATE-BEG dropped: 'yesterday' is not an ISO date", "DATE-BEG",
         tai_unix_to_isot(TAI_BEGIN)),
        (Card("EXPTIME", "fast"), "EXPTIME dropped: 'fast' is not a number", "EXPTIME", 2.0),
        (Card("RA", "twelve"), "RA dropped: 'twelve' is not a number", "RA", None),
    ],
)  # fmt: skip
def test_a_bad_header_value_is_dropped_and_the_file_verifies_translates_and_ingests(
    tmp_path: Path,
    store: EmulatedDaqStore,
    repo: Butler,
    bad: Card,
    dropped: str,
    own_keyword: str,
    own_value: object,
) -> None:
    outcome = capture(tmp_path, header_text(bad, Card("DEC", -30.2)))
    assert outcome.status is CaptureStatus.OK, outcome.description
    assert outcome.header_merged and outcome.header_note == dropped
    assert dropped in outcome.description  # imageRetrievalForArchiving says it too
    path = Path(outcome.path or "")
    run_fitsverify(path)
    with open_verified(path) as hdus:
        header = hdus[0].header
        assert header["HDRSRC"] == "HeaderService" and header["HDRNOTE"] == dropped
        assert header["OBJECT"] == "HD 12345" and header["DEC"] == -30.2  # good values kept
        if own_value is None:
            assert own_keyword not in header
        else:
            assert header[own_keyword] == own_value
        if own_keyword == "DATE-BEG":
            assert header["MJD-BEG"] == pytest.approx(mjd_from_tai_unix(TAI_BEGIN))
        observation = translate_primary_header(header, filename=path.name)
    assert observation == dict(read_sidecar(sidecar_path_for(path)).observation)
    ingest(repo, path)
    [record] = repo.registry.queryDimensionRecords("exposure", instrument="LATISS")
    assert record.obs_id == NAME and record.observation_type == "science"
    assert record.exposure_time == 2.0
    begin = Time(tai_unix_to_isot(TAI_BEGIN), format="isot", scale="tai")
    assert abs((record.timespan.begin - begin).to_value("s")) < 1e-3  # the Archiver's start time


def test_a_merged_header_that_cannot_be_translated_gives_way_to_the_archivers_own_metadata(
    tmp_path: Path, store: EmulatedDaqStore, repo: Butler
) -> None:
    # Each valid alone, but LATISS's physical filter FILTER~GRATING would have 42
    # characters: more than a Butler registry holds, so ingest could never take it.
    text = header_text(Card("FILTER", "SDSSr_65mm_with_a_long_name"), Card("GRATING", "holo4_003_long"))
    outcome = capture(tmp_path, text)
    assert outcome.status is CaptureStatus.OK, outcome.description
    assert not outcome.header_merged
    path = Path(outcome.path or "")
    assert path.name == f"{NAME}_R00_S00.fits"
    run_fitsverify(path)
    with open_verified(path) as hdus:
        header = hdus[0].header
        assert header["HDRSRC"] == "Archiver"
        assert header["HDRNOTE"].startswith("Header Service header not used: ")
        assert "physical filter" in header["HDRNOTE"] and "42 characters" in header["HDRNOTE"]
        assert header["IMGTYPE"] == "FLAT" and "OBJECT" not in header and "FILTER" not in header
    assert "Header Service header not used" in outcome.description
    ingest(repo, path)
    [record] = repo.registry.queryDimensionRecords("exposure", instrument="LATISS")
    assert record.physical_filter == "empty~empty" and record.observation_type == "flat"


def untranslatable_metadata() -> ExposureMetadata:
    # The camera's own FILTER and GRATING: each a valid name, together too long.
    return ExposureMetadata(
        obsid=NAME,
        imgtype="FLAT",
        exptime=2.0,
        date_beg=TAI_BEGIN,
        date_end=TAI_BEGIN + 2.0,
        extra={"FILTER": "f" * 30, "GRATING": "g" * 30},
    )


def test_a_file_whose_own_metadata_cannot_be_translated_is_kept_and_fails_for_good(
    tmp_path: Path, store: EmulatedDaqStore
) -> None:
    outcome = capture(tmp_path, header_text(Card("DATE-BEG", "yesterday")), untranslatable_metadata())
    assert outcome.status is CaptureStatus.METADATA_FAILED
    assert not outcome.status.transient and not outcome.status.fault_worthy
    kept = Path(outcome.path or "")
    assert kept.name == f"{NAME}_R00_S00.untranslated.fits" and kept.stat().st_size == outcome.size
    assert str(kept) in outcome.description and "physical filter" in outcome.description
    directory = kept.parent
    assert not (directory / f"{NAME}_R00_S00.fits").exists()
    assert not sidecar_path_for(directory / f"{NAME}_R00_S00.fits").exists()
    run_fitsverify(kept)
    with open_verified(kept) as hdus:
        assert hdus[0].header["HDRSRC"] == "Archiver"
        assert "not ingestible" in hdus[0].header["HDRNOTE"]
        assert hdus[1].data.shape == (2048, 576)  # the pixels are not lost


# ---------------------------------------------------------------------- through the pipeline


class InProcessPool(CapturePool):
    """Runs `capture_source` (the real worker code) in a thread."""

    async def start(self) -> None:
        pass

    async def run(self, task: CaptureTask) -> SourceOutcome:
        return await asyncio.to_thread(capture_source, task)

    @property
    def workers_alive(self) -> int:
        return 1

    async def close(self) -> None:
        pass


@dataclass
class RecordingReporter:
    captured: list[DetectorOutcome] = field(default_factory=list)
    faults: list[tuple[ErrorCode, str]] = field(default_factory=list)

    async def detector_captured(self, obsid: str, outcome: DetectorOutcome) -> None:
        self.captured.append(outcome)

    async def image_captured(self, obsid: str, outcomes: Sequence[DetectorOutcome]) -> None:
        pass

    def pipeline_fault(self, code: ErrorCode, report: str) -> None:
        self.faults.append((code, report))


async def test_a_file_whose_own_metadata_cannot_be_translated_is_in_the_ledger_as_failed_with_its_status(
    tmp_path: Path, store: EmulatedDaqStore
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", create=True)
    runner = LedgerRunner(ledger)
    reporter = RecordingReporter()
    try:
        pipeline = ImagePipeline(
            LATISS,
            store,
            InProcessPool(),
            DeliveryService(runner, []),
            runner,
            HeaderTracker(),
            StagingArea(tmp_path / "staging"),
            options(tmp_path),
            PipelineSettings(capture_attempts=3, retry_delay=0.01),
            reporter,
            log=logging.getLogger("test.capture_header_values"),
        )
        await pipeline.archive(NAME, trigger=Trigger.COMMANDED, metadata=untranslatable_metadata())
        [detector] = await runner.run(ledger.detectors, NAME)
    finally:
        runner.close()
        ledger.close()
    assert reporter.faults == []
    [outcome] = reporter.captured  # final at once: not retried
    assert detector.state is CaptureState.FAILED
    assert detector.status == int(CaptureStatus.METADATA_FAILED)
    assert outcome.path is not None and outcome.path in (detector.error or "")
    assert Path(outcome.path).exists()
