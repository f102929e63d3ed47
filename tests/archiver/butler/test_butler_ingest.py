"""Raw ingest into SQLite and PostgreSQL repositories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import FileStatus, RawFile, RawIngester, raw_run
from lsst.ts.archiver.camera import LSST_COMCAM, LSSTCAM
from lsst.ts.archiver.metadata import file_checksum, read_sidecar, sidecar_path_for, write_sidecar
from lsst.ts.archiver.testing import make_primary_header, write_raw_file

DAY_OBS = 20261123


def write_exposure(directory: Path, instrument: str, seq_num: int, detectors: list[str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_raw_file(
            directory,
            make_primary_header(instrument, day_obs=DAY_OBS, seq_num=seq_num, detector=name),
            seed=seq_num * 1000 + i,
        )
        for i, name in enumerate(detectors)
    ]


def dataset_count(butler: Butler, instrument: str) -> int:
    return len(
        butler.query_datasets("raw", collections=raw_run(instrument), instrument=instrument, explain=False)
    )


def test_ingested_raw_is_found_by_exposure_by_day_obs_and_seq_num_and_by_obs_id_and_full_name(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTCam")
    paths = write_exposure(tmp_path / "data", "LSSTCam", 7, ["R22_S11", "R01_S00", "R00_SG0", "R44_SW1"])
    report = RawIngester(butler).ingest(paths)
    assert report.ok and len(report.ingested) == 4
    run = raw_run("LSSTCam")
    exposure = DAY_OBS * 100000 + 7
    expected = fits.getdata(paths[0], 1)

    by_id = butler.get("raw", instrument="LSSTCam", exposure=exposure, detector=94, collections=run)
    by_seq = butler.get("raw", instrument="LSSTCam", day_obs=DAY_OBS, seq_num=7, detector=94, collections=run)
    by_name = butler.get(
        "raw", instrument="LSSTCam", obs_id=f"MC_O_{DAY_OBS}_000007", full_name="R22_S11", collections=run
    )
    for hdul in (by_id, by_seq, by_name):
        assert isinstance(hdul, fits.HDUList) and len(hdul) == 17
        assert hdul[0].header["RAFTBAY"] == "R22" and hdul[0].header["CCDSLOT"] == "S11"
        np.testing.assert_array_equal(hdul[1].data, expected)
    wavefront = butler.get(
        "raw.header", instrument="LSSTCam", exposure=exposure, detector=204, collections=run
    )
    assert wavefront["CCDSLOT"] == "SW1"


def test_exposure_record_holds_translated_values_as_plain_types(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTComCam")
    RawIngester(butler).ingest(write_exposure(tmp_path / "d", "LSSTComCam", 3, ["R22_S11"]))
    (record,) = butler.registry.queryDimensionRecords("exposure", instrument="LSSTComCam")
    assert record.obs_id == f"CC_O_{DAY_OBS}_000003"
    assert (record.day_obs, record.seq_num, record.physical_filter) == (DAY_OBS, 3, "r_03")
    assert record.exposure_time == 30.0 and record.observation_type == "science"
    assert record.tracking_ra == pytest.approx(150.1) and record.zenith_angle == pytest.approx(30.0)
    assert (record.timespan.end - record.timespan.begin).to_value("sec") == pytest.approx(30.0)
    (day,) = butler.registry.queryDimensionRecords("day_obs", instrument="LSSTComCam")
    assert day.id == DAY_OBS


def test_ingesting_the_same_exposure_twice_changes_nothing(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTCam")
    paths = write_exposure(tmp_path / "data", "LSSTCam", 8, [d.name for d in LSSTCAM.detectors[:12]])
    ingester = RawIngester(butler)
    first = ingester.ingest(paths)
    records_before = list(butler.registry.queryDimensionRecords("exposure", instrument="LSSTCam"))
    second = RawIngester(butler).ingest(paths)
    assert [r.status for r in first.files] == [FileStatus.INGESTED] * 12
    assert [r.status for r in second.files] == [FileStatus.ALREADY_PRESENT] * 12
    assert [r.dataset_id for r in first.files] == [r.dataset_id for r in second.files]
    assert dataset_count(butler, "LSSTCam") == 12
    assert list(butler.registry.queryDimensionRecords("exposure", instrument="LSSTCam")) == records_before


def test_partly_ingested_exposure_gets_only_the_missing_files(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTComCam")
    paths = write_exposure(tmp_path / "data", "LSSTComCam", 9, [d.name for d in LSST_COMCAM.detectors])
    ingester = RawIngester(butler)
    ingester.ingest(paths[:4])
    report = ingester.ingest(paths)
    assert len(report.already_present) == 4 and len(report.ingested) == 5
    assert dataset_count(butler, "LSSTComCam") == 9


def test_corrupt_and_missing_files_are_reported_per_file_and_the_others_ingest(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTCam")
    names = ["R22_S00", "R22_S01", "R22_S02", "R22_S10", "R22_S11"]
    paths = write_exposure(tmp_path / "data", "LSSTCam", 10, names)
    with open(paths[1], "r+b") as stream:  # same size, garbage content
        stream.write(b"\0" * 2880)
    with open(paths[2], "r+b") as stream:  # truncated
        stream.truncate(4000)
    os.unlink(paths[3])  # missing
    sidecar_path_for(paths[4]).write_text("{not json")  # damaged sidecar
    report = RawIngester(butler).ingest(paths)
    statuses = [r.status for r in report.files]
    assert statuses == [FileStatus.INGESTED] + [FileStatus.METADATA_FAILURE] * 4
    messages = [r.message for r in report.files]
    assert "corrupt" in messages[1]
    assert "4000 bytes" in messages[2]
    assert "does not exist" in messages[3]
    assert "not valid JSON" in messages[4]
    assert all(r.path == str(p) for r, p in zip(report.files, paths, strict=True))
    assert dataset_count(butler, "LSSTCam") == 1


def test_file_without_sidecar_is_ingested_from_its_header(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LATISS")
    (path,) = write_exposure(tmp_path / "data", "LATISS", 11, ["R00_S00"])
    sidecar_path_for(path).unlink()
    report = RawIngester(butler).ingest([path])
    assert report.ok
    header = butler.get(
        "raw.header",
        instrument="LATISS",
        exposure=DAY_OBS * 100000 + 11,
        detector=0,
        collections="LATISS/raw/all",
    )
    assert header["OBSID"] == f"AT_O_{DAY_OBS}_000011"
    (record,) = butler.registry.queryDimensionRecords("detector", instrument="LATISS")
    assert record.full_name == "RXX_S00"


def test_sidecar_in_memory_is_used_instead_of_the_file(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTCam")
    (path,) = write_exposure(tmp_path / "data", "LSSTCam", 12, ["R22_S11"])
    sidecar = read_sidecar(sidecar_path_for(path))
    sidecar_path_for(path).unlink()
    assert RawIngester(butler).ingest([RawFile(path, sidecar)]).ok


def test_unregistered_latiss_filter_combination_is_added_on_first_use(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LATISS")
    header = make_primary_header("LATISS", day_obs=DAY_OBS, seq_num=13, physical_filter="SDSSg_65mm")
    header["GRATING"] = "new_grating_1"
    (tmp_path / "d").mkdir()
    assert RawIngester(butler).ingest([write_raw_file(tmp_path / "d", header)]).ok
    (record,) = butler.registry.queryDimensionRecords(
        "physical_filter", instrument="LATISS", physical_filter="SDSSg_65mm~new_grating_1"
    )
    assert record.band == "g"


def test_files_of_several_exposures_in_one_call_are_grouped(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTComCam")
    paths = write_exposure(tmp_path / "a", "LSSTComCam", 14, ["R22_S00", "R22_S01"])
    paths += write_exposure(tmp_path / "b", "LSSTComCam", 15, ["R22_S00"])
    report = RawIngester(butler).ingest(paths)
    assert [r.exposure for r in report.files] == [DAY_OBS * 100000 + 14] * 2 + [DAY_OBS * 100000 + 15]
    assert report.ok and dataset_count(butler, "LSSTComCam") == 3


def test_two_files_claiming_the_same_detector_are_rejected(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTComCam")
    (path,) = write_exposure(tmp_path / "a", "LSSTComCam", 16, ["R22_S00"])
    copy = tmp_path / "copy.fits"
    shutil.copy(path, copy)
    sidecar = read_sidecar(sidecar_path_for(path))
    write_sidecar(sidecar_path_for(copy), replace(sidecar, filename=copy.name))
    report = RawIngester(butler).ingest([path, copy])
    assert [r.status for r in report.files] == [FileStatus.INGESTED, FileStatus.METADATA_FAILURE]
    assert "also given" in report.files[1].message


@pytest.mark.parametrize("transfer", ["direct", "copy"])
def test_transfer_mode_decides_where_the_repository_points(
    make_repo: Callable[..., Butler], tmp_path: Path, transfer: str
) -> None:
    butler = make_repo("LSSTComCam")
    (path,) = write_exposure(tmp_path / "staging", "LSSTComCam", 17, ["R22_S22"])
    report = RawIngester(butler, transfer=transfer).ingest([path])
    assert report.ok
    uri = butler.getURI(
        "raw",
        instrument="LSSTComCam",
        exposure=DAY_OBS * 100000 + 17,
        detector=8,
        collections="LSSTComCam/raw/all",
    )
    if transfer == "direct":
        assert uri.ospath == str(path)
    else:
        assert uri.ospath != str(path) and uri.ospath.startswith(str(tmp_path / "repo"))
        assert path.exists()
        path.unlink()  # the repository's copy is independent of the staging file
    assert (
        butler.get(
            "raw.header",
            dataId={"instrument": "LSSTComCam", "exposure": DAY_OBS * 100000 + 17, "detector": 8},
            collections="LSSTComCam/raw/all",
        )["CCDSLOT"]
        == "S22"
    )


def test_unknown_transfer_mode_is_refused(make_repo: Callable[..., Butler]) -> None:
    with pytest.raises(ValueError, match="teleport"):
        RawIngester(make_repo("LATISS"), transfer="teleport")


def test_checksum_verification_catches_a_changed_file(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTComCam")
    paths = write_exposure(tmp_path / "d", "LSSTComCam", 18, ["R22_S00", "R22_S01"])
    for path in paths:
        sidecar = read_sidecar(sidecar_path_for(path))
        write_sidecar(sidecar_path_for(path), replace(sidecar, checksum=file_checksum(path, "sha256")))
    with open(paths[1], "r+b") as stream:  # flip a pixel byte, same size, still FITS
        stream.seek(-10, os.SEEK_END)
        stream.write(b"\x7f")
    report = RawIngester(butler, verify_checksums=True).ingest(paths)
    assert [r.status for r in report.files] == [FileStatus.INGESTED, FileStatus.METADATA_FAILURE]
    assert "checksum sha256:" in report.files[1].message


def test_sidecar_of_another_file_is_refused(make_repo: Callable[..., Butler], tmp_path: Path) -> None:
    butler = make_repo("LSSTComCam")
    first, second = write_exposure(tmp_path / "d", "LSSTComCam", 19, ["R22_S00", "R22_S01"])
    report = RawIngester(butler).ingest([RawFile(first, read_sidecar(sidecar_path_for(second)))])
    assert report.files[0].status is FileStatus.METADATA_FAILURE
    assert "another file" in report.files[0].message


def test_a_file_the_datastore_refuses_fails_alone_and_the_batch_still_ingests(
    make_repo: Callable[..., Butler], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    butler = make_repo("LSSTComCam")
    paths = write_exposure(tmp_path / "d", "LSSTComCam", 20, [d.name for d in LSST_COMCAM.detectors])
    bad = paths[4].name
    original = butler.ingest

    def refusing_ingest(*datasets, **kwargs):  # type: ignore[no-untyped-def]
        if any(Path(str(d.path)).name == bad for d in datasets):
            raise RuntimeError(f"datastore refused {bad}")
        return original(*datasets, **kwargs)

    monkeypatch.setattr(butler, "ingest", refusing_ingest)
    report = RawIngester(butler).ingest(paths)
    assert [r.status for r in report.files].count(FileStatus.INGESTED) == 8
    assert report.files[4].status is FileStatus.INGEST_FAILURE
    assert f"datastore refused {bad}" in report.files[4].message
    assert dataset_count(butler, "LSSTComCam") == 8


def test_changed_metadata_of_an_ingested_exposure_is_an_ingest_failure_unless_updates_are_allowed(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTComCam")
    (first,) = write_exposure(tmp_path / "a", "LSSTComCam", 23, ["R22_S00"])
    assert RawIngester(butler).ingest([first]).ok
    header = make_primary_header(
        "LSSTComCam", day_obs=DAY_OBS, seq_num=23, detector="R22_S01", exposure_time=99.0
    )
    (tmp_path / "b").mkdir()
    second = write_raw_file(tmp_path / "b", header)
    refused = RawIngester(butler).ingest([second])
    assert refused.files[0].status is FileStatus.INGEST_FAILURE
    assert "exposure_time" in refused.files[0].message
    assert RawIngester(butler, update_exposure_records=True).ingest([second]).ok
    (record,) = butler.registry.queryDimensionRecords("exposure", instrument="LSSTComCam")
    assert record.exposure_time == 99.0


def test_sidecar_with_untranslatable_metadata_is_a_metadata_failure(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTComCam")
    (path,) = write_exposure(tmp_path / "a", "LSSTComCam", 24, ["R22_S00"])
    sidecar = read_sidecar(sidecar_path_for(path))
    broken = replace(sidecar, observation={**sidecar.observation, "datetime_begin": "not a time"})
    report = RawIngester(butler).ingest([RawFile(path, broken)])
    assert report.files[0].status is FileStatus.METADATA_FAILURE
    assert dataset_count(butler, "LSSTComCam") == 0
