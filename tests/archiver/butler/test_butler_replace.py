"""Replacing a rewritten raw's Butler dataset in place: same dataset id, new file and records."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from lsst.daf.butler import Butler, DatasetRef

from lsst.ts.archiver.butler import FileStatus, RawFile, RawIngester, raw_run
from lsst.ts.archiver.testing import make_primary_header, write_raw_file

DAY_OBS = 20261123
SEQ_NUM = 21
INSTRUMENT = "LSSTComCam"
DETECTORS = ("R22_S00", "R22_S11")
ARCHIVER = {"HDRSRC": "Archiver", "HDRNOTE": "no header after 10 s"}
"""How the files are first written: without a header."""
LATE = {"EXPTIME": 45.0, "OBJECT": "late target", "HDRSRC": "HeaderService"}
"""How they are rewritten once the late Header Service header is applied."""


def write_files(directory: Path, keywords: dict[str, Any]) -> list[Path]:
    """The exposure's raw files (and sidecars), same pixels, with ``keywords`` in every primary header."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(DETECTORS):
        header = make_primary_header(INSTRUMENT, day_obs=DAY_OBS, seq_num=SEQ_NUM, detector=name)
        header.update(keywords)
        paths.append(write_raw_file(directory, header, seed=index))
    return paths


def datasets(butler: Butler) -> dict[int, DatasetRef]:
    """Detector number → the exposure's raw dataset."""
    refs = butler.query_datasets(
        "raw", collections=raw_run(INSTRUMENT), instrument=INSTRUMENT, find_first=False, explain=False
    )
    by_detector: dict[int, DatasetRef] = {}
    for ref in refs:
        detector = int(ref.dataId["detector"])  # type: ignore[arg-type]
        assert detector not in by_detector, f"two datasets for detector {detector}"
        by_detector[detector] = ref
    return by_detector


def exposure_time(butler: Butler) -> float:
    (record,) = butler.registry.queryDimensionRecords("exposure", instrument=INSTRUMENT)
    return float(record.exposure_time)


@pytest.mark.parametrize("transfer", ["direct", "copy"])
def test_a_rewritten_file_replaces_its_dataset_keeping_the_dataset_id(
    make_repo: Callable[..., Butler], tmp_path: Path, transfer: str
) -> None:
    butler = make_repo(INSTRUMENT)
    paths = write_files(tmp_path / "staging", ARCHIVER)
    first = RawIngester(butler, transfer=transfer).ingest(paths)
    assert [r.status for r in first.files] == [FileStatus.INGESTED] * 2
    before = {detector: ref.id for detector, ref in datasets(butler).items()}
    pixels = fits.getdata(paths[1], 1)

    rewritten = write_files(tmp_path / "staging", LATE)
    report = RawIngester(butler, transfer=transfer).ingest([RawFile(p, replace=True) for p in rewritten])

    assert [r.status for r in report.files] == [FileStatus.REPLACED] * 2 and report.ok
    after = datasets(butler)
    assert {detector: ref.id for detector, ref in after.items()} == before
    assert [r.dataset_id for r in report.files] == [r.dataset_id for r in first.files]
    hdul = butler.get(after[4])  # R22_S11
    assert (hdul[0].header["HDRSRC"], hdul[0].header["OBJECT"]) == ("HeaderService", "late target")
    assert "HDRNOTE" not in hdul[0].header
    np.testing.assert_array_equal(hdul[1].data, pixels)
    assert exposure_time(butler) == 45.0
    uri = butler.getURI(after[4])
    if transfer == "direct":
        assert uri.ospath == str(rewritten[1])
    else:  # the repository's own copy was replaced
        assert uri.ospath.startswith(str(tmp_path / "repo")) and uri.read() == rewritten[1].read_bytes()


def test_without_replace_a_rewritten_file_is_a_conflict_and_the_dataset_is_left_alone(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo(INSTRUMENT)
    RawIngester(butler, transfer="copy").ingest(write_files(tmp_path / "staging", ARCHIVER))
    rewritten = write_files(tmp_path / "staging", LATE)
    report = RawIngester(butler, transfer="copy").ingest(rewritten)
    assert [r.status for r in report.files] == [FileStatus.INGEST_FAILURE] * 2
    assert "exposure_time" in report.files[0].message
    assert butler.get(datasets(butler)[4])[0].header["HDRSRC"] == "Archiver"
    assert exposure_time(butler) == 30.0


def test_replacing_a_file_that_was_never_ingested_ingests_it(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo(INSTRUMENT)
    paths = write_files(tmp_path / "staging", LATE)
    report = RawIngester(butler).ingest([RawFile(paths[0], replace=True), paths[1]])
    assert [r.status for r in report.files] == [FileStatus.INGESTED] * 2
    assert len(datasets(butler)) == 2


@pytest.mark.parametrize("transfer", ["direct", "copy"])
def test_a_failed_replace_is_reported_and_a_retry_replaces(
    make_repo: Callable[..., Butler], tmp_path: Path, transfer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    butler = make_repo(INSTRUMENT)
    RawIngester(butler, transfer=transfer).ingest(write_files(tmp_path / "staging", ARCHIVER))
    ids: set[uuid.UUID] = {ref.id for ref in datasets(butler).values()}
    rewritten = [RawFile(p, replace=True) for p in write_files(tmp_path / "staging", LATE)]
    ingester = RawIngester(butler, transfer=transfer)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("datastore refused the file")

    with monkeypatch.context() as patch:
        patch.setattr(butler, "ingest", refuse)
        failed = ingester.ingest(rewritten)
    assert [r.status for r in failed.files] == [FileStatus.INGEST_FAILURE] * 2
    assert "datastore refused the file" in failed.files[0].message
    left = datasets(butler)
    if transfer == "direct":  # one transaction: the old datasets are back
        assert {ref.id for ref in left.values()} == ids
    else:  # the prune was committed: absent until the retry, never pointing at a deleted copy
        assert left == {}

    retried = ingester.ingest(rewritten)
    assert retried.ok
    assert {ref.id for ref in datasets(butler).values()} == ids
    assert butler.get(datasets(butler)[4])[0].header["OBJECT"] == "late target"
