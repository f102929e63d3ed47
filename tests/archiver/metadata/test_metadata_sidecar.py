"""Tests of the raw JSON sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from astro_metadata_translator import ObservationInfo

from lsst.ts.archiver.metadata import (
    MARKER_KEYWORD,
    SIDECAR_FORMAT_VERSION,
    RawSidecar,
    SidecarError,
    file_checksum,
    make_sidecar,
    parse_checksum,
    read_sidecar,
    sidecar_path_for,
    write_sidecar,
)
from lsst.ts.archiver.testing import make_primary_header


def lsstcam_sidecar(detector: str = "R22_S11") -> RawSidecar:
    header = make_primary_header("LSSTCam", day_obs=20261123, seq_num=12, detector=detector)
    return make_sidecar(header, filename=f"/staging/{header['FILENAME']}", size=4321, checksum="md5:abc")


def test_make_sidecar_holds_translation_and_file_identity() -> None:
    sidecar = lsstcam_sidecar()
    assert sidecar.filename == "MC_O_20261123_000012_R22_S11.fits"
    assert (sidecar.size, sidecar.checksum) == (4321, "md5:abc")
    assert sidecar.format_version == SIDECAR_FORMAT_VERSION
    assert (sidecar.instrument, sidecar.exposure_id, sidecar.detector_num) == ("LSSTCam", 2026112300012, 94)
    assert sidecar.observation_id == "MC_O_20261123_000012"
    assert (sidecar.day_obs, sidecar.physical_filter) == (20261123, "r_57")


def test_sidecar_observation_info_equals_direct_translation() -> None:
    header = make_primary_header("LSSTComCam", detector="R22_S00")
    sidecar = make_sidecar(header, filename="x.fits", size=1)
    direct = ObservationInfo(dict(header), quiet=True)
    for name in ("exposure_id", "detector_num", "datetime_begin", "datetime_end", "dark_time"):
        assert getattr(sidecar.observation_info, name) == getattr(direct, name), name
    assert sidecar.observation_info.tracking_radec.separation(direct.tracking_radec).arcsec < 1e-6


def test_json_round_trip_is_lossless() -> None:
    sidecar = lsstcam_sidecar()
    again = RawSidecar.from_json(sidecar.to_json())
    assert again == sidecar
    assert again.observation_info == sidecar.observation_info


def test_write_then_read_gives_the_same_sidecar_and_leaves_no_temporary(tmp_path: Path) -> None:
    sidecar = lsstcam_sidecar()
    path = sidecar_path_for(tmp_path / sidecar.filename)
    assert write_sidecar(path, sidecar) == path
    assert read_sidecar(path) == sidecar
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    write_sidecar(path, sidecar, fsync=True)  # overwriting is allowed (retries)
    assert read_sidecar(path) == sidecar


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    class Broken(RawSidecar):
        def to_json(self) -> str:
            raise RuntimeError("boom")

    sidecar = lsstcam_sidecar()
    broken = Broken(sidecar.observation, sidecar.filename, sidecar.size)
    with pytest.raises(RuntimeError):
        write_sidecar(tmp_path / "x.json", broken)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fits_name", "json_name"),
    [
        ("MC_O_20261123_000012_R22_S11.fits", "MC_O_20261123_000012_R22_S11.json"),
        ("MC_O_20261123_000012_R22_S11.fits.fz", "MC_O_20261123_000012_R22_S11.json"),
        ("AT_O_20261123_000001_R00_S00.fits.gz", "AT_O_20261123_000001_R00_S00.json"),
    ],
)
def test_sidecar_path_has_same_directory_and_stem(fits_name: str, json_name: str) -> None:
    assert sidecar_path_for(f"/data/{fits_name}") == Path("/data") / json_name


def test_make_sidecar_refuses_header_without_marker() -> None:
    header = make_primary_header("LSSTCam")
    del header[MARKER_KEYWORD]
    with pytest.raises(SidecarError, match=f"{MARKER_KEYWORD}.*writer must set it"):
        make_sidecar(header, filename="a.fits", size=1)


def test_make_sidecar_refuses_unknown_instrument() -> None:
    header = make_primary_header("LSSTCam")
    header["INSTRUME"] = "HSC"
    with pytest.raises(SidecarError, match="HSC"):
        make_sidecar(header, filename="a.fits", size=1)


def test_make_sidecar_names_file_and_property_when_a_required_keyword_is_missing() -> None:
    header = make_primary_header("LSSTCam", detector="R22_S11")
    header["RAFTBAY"] = "R99"
    with pytest.raises(SidecarError, match=r"a\.fits.*detector_num"):
        make_sidecar(header, filename="a.fits", size=1)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="something else"), "not a ts_archiver raw sidecar"),
        (lambda d: d.update(format_version=SIDECAR_FORMAT_VERSION + 1), "upgrade ts_archiver"),
        (lambda d: d.pop("file"), "lacks the 'file'"),
        (lambda d: d["file"].pop("size"), "size"),
        (lambda d: d["observation_info"].pop("detector_num"), "detector_num"),
    ],
)
def test_read_rejects_foreign_or_damaged_sidecars(tmp_path: Path, mutate, message: str) -> None:
    data = lsstcam_sidecar().to_dict()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SidecarError, match=message):
        read_sidecar(path)


def test_read_rejects_truncated_json(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(lsstcam_sidecar().to_json()[:50])
    with pytest.raises(SidecarError, match="cut.json is not valid JSON"):
        read_sidecar(path)


@pytest.mark.parametrize("algorithm", ["crc32", "md5", "sha256"])
def test_file_checksum_has_algorithm_prefix_and_parses_back(tmp_path: Path, algorithm: str) -> None:
    import hashlib
    import zlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"raw bytes" * 1000)
    checksum = file_checksum(path, algorithm)
    expected = (
        f"{zlib.crc32(path.read_bytes()):08x}"
        if algorithm == "crc32"
        else hashlib.new(algorithm, path.read_bytes()).hexdigest()
    )
    assert parse_checksum(checksum) == (algorithm, expected)


@pytest.mark.parametrize("checksum", ["abc", "md5:", "nosuchhash:00"])
def test_parse_checksum_rejects_malformed_values(checksum: str) -> None:
    with pytest.raises(ValueError, match="Checksum"):
        parse_checksum(checksum)


MINIMAL = ("ARCHVER", "INSTRUME", "OBSID", "SEQNUM", "DAYOBS", "DATE-BEG", "EXPTIME", "RAFTBAY", "CCDSLOT")


def test_minimal_documented_keyword_set_is_enough() -> None:
    full = make_primary_header("LSSTCam", detector="R22_S11", seq_num=3)
    sidecar = make_sidecar({k: full[k] for k in MINIMAL}, filename="x.fits", size=1)
    assert (sidecar.exposure_id, sidecar.detector_num, sidecar.physical_filter) == (
        2026112300003,
        94,
        "unknown",
    )


@pytest.mark.parametrize("missing", [k for k in MINIMAL if k != "DAYOBS"])
def test_each_required_keyword_is_needed(missing: str) -> None:
    full = make_primary_header("LSSTCam", detector="R22_S11")
    with pytest.raises(SidecarError):
        make_sidecar({k: full[k] for k in MINIMAL if k != missing}, filename="x.fits", size=1)
