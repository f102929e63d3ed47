"""End-to-end raw files: layout, keywords, fitsverify, astropy and fitsio read-back, checksums."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import fitsio
import numpy as np
import pytest
from astropy.io import fits

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM, Camera, Detector
from lsst.ts.archiver.fits import (
    Card,
    DiskFullError,
    HeaderServiceFile,
    PixelDataError,
    RawFitsWriter,
    WrittenFile,
)
from lsst.ts.archiver.metadata import file_checksum, read_sidecar
from lsst.ts.archiver.testing import (
    TAI_BEGIN,
    amplifier_pixels,
    exposure_metadata,
    open_verified,
    run_fitsverify,
)

VARIANTS = {
    "LATISS": (LATISS, "R00_S00", "AT_O_20260315_000051"),
    "ComCam ITL": (LSST_COMCAM, "R22_S11", "CC_O_20260315_000051"),
    "LSSTCam e2v": (LSSTCAM, "R22_S11", "MC_O_20260315_000051"),
    "LSSTCam ITL": (LSSTCAM, "R01_S01", "MC_O_20260315_000051"),
    "LSSTCam wavefront half": (LSSTCAM, "R44_SW1", "MC_O_20260315_000051"),
    "LSSTCam guider": (LSSTCAM, "R04_SG0", "MC_O_20260315_000051"),
}
REB_CONDITIONS = {"TEMP1": -95.2, "CCDTEMP": -101.5, "ODV": 28.1, "POWER": True, "RTDTEMP": "n/a"}


def header_file(obsid: str, detector: Detector) -> HeaderServiceFile:
    return HeaderServiceFile(
        primary=(
            Card("OBSID", obsid),
            Card("EXPTIME", 15.0, "Exposure time"),
            Card("ROTPA", 12.5, "Rotator angle"),
            Card("OBJECT", "field 1"),
            Card("COMMENT", "from the Header Service"),
        ),
        detectors={detector.name: (Card("CCDTEMP", -95.1),)},
        segments={
            (detector.name, "10"): (Card("GAIN", 1.467, "amplifier gain"), Card("DATASEC", "[1:2,1:2]"))
        },
        source="hs.yaml",
    )


def write(directory: Path, camera: Camera, name: str, obsid: str, compress: bool, **kwargs: object) -> tuple:
    detector = camera.detector(name)
    pixels = amplifier_pixels(detector, seed=detector.id)
    written = RawFitsWriter(compress=compress).write(
        directory,
        camera,
        detector,
        pixels,
        exposure_metadata(obsid),
        header_file(obsid, detector),
        reb_conditions=REB_CONDITIONS,
        written_at=TAI_BEGIN + 20,
        **kwargs,  # type: ignore[arg-type]
    )
    return detector, pixels, written


@pytest.mark.parametrize("compress", [False, True], ids=["uncompressed", "rice"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_raw_file_is_valid_and_reads_back_identically(tmp_path: Path, variant: str, compress: bool) -> None:
    camera, name, obsid = VARIANTS[variant]
    detector, pixels, written = write(tmp_path, camera, name, obsid, compress)
    assert isinstance(written, WrittenFile)
    assert written.path.name == f"{obsid}_{detector.raft}_{detector.sensor}.fits"
    assert written.size == written.path.stat().st_size and written.compressed is compress

    run_fitsverify(written.path)  # 0 warnings, 0 errors (checksums included)

    n_amps = detector.n_amplifiers
    with open_verified(written.path) as hdus:  # astropy verifies every CHECKSUM/DATASUM
        assert len(hdus) == n_amps + 2
        primary = hdus[0].header
        assert hdus[0].data is None and primary["BITPIX"] == 8 and primary["NAXIS"] == 0
        assert primary["OBSID"] == obsid and primary["RAFTBAY"] == detector.raft
        assert (
            primary["EXPTIME"] == 15.0
            and primary["CCDTEMP"] == -95.1
            and primary["HDRSRC"] == "HeaderService"
        )
        assert primary["FILENAME"] == written.path.name and primary["ARCHVER"]
        for index, amp in enumerate(detector.amplifiers, start=1):
            header = hdus[index].header
            assert header["EXTNAME"] == amp.extname and header["CHANNEL"] == index
            assert header["DATASEC"] == str(amp.datasec) and header["DETSEC"] == str(amp.detsec)
            assert header["DTV1"] == amp.dtv1 and header["DTM2_2"] == amp.dtm2_2
            assert header["CCDSUM"] == "1 1" and header["DETSIZE"] == str(detector.layout.detsize)
            np.testing.assert_array_equal(hdus[index].data, pixels[index - 1])
            assert hdus[index].data.dtype.itemsize == 4
            assert header["BITPIX"] == 32 and (header["NAXIS1"], header["NAXIS2"]) == (576, 2048)
        assert hdus[1].header["GAIN"] == 1.467  # Header Service segment keyword
        reb = hdus[-1].header
        assert reb["EXTNAME"] == "REB_COND" and reb["XTENSION"] == "BINTABLE"
        assert reb["TEMP1"] == -95.2 and reb["POWER"] is True

    if compress:  # the production tile-compression convention, in the stored headers
        with fits.open(written.path, disable_image_compression=True) as raw:
            for index in range(1, n_amps + 1):
                stored = raw[index].header
                assert stored["ZIMAGE"] is True and stored["ZCMPTYPE"] == "RICE_1" and stored["ZBITPIX"] == 32
                assert (stored["ZTILE1"], stored["ZTILE2"]) == (576, 1)
                assert (
                    stored["ZDATASUM"] == str(written.datasums[index - 1]) and len(stored["ZHECKSUM"]) == 16
                )
                assert (stored["ZNAME1"], stored["ZVAL1"], stored["ZNAME2"], stored["ZVAL2"]) == (
                    "BLOCKSIZE",
                    32,
                    "BYTEPIX",
                    4,
                )

    with fitsio.FITS(str(written.path)) as f:
        for index, amp in enumerate(detector.amplifiers, start=1):
            assert f[index].get_extname() == amp.extname
            np.testing.assert_array_equal(f[index].read(), pixels[index - 1])
        for hdu in f:
            hdu.verify_checksum()  # cfitsio: raises ValueError on a bad CHECKSUM or DATASUM

    sidecar = read_sidecar(written.sidecar_path)
    assert sidecar.detector_num == detector.id and sidecar.observation_id == obsid


def test_header_service_cannot_override_extension_geometry(tmp_path: Path) -> None:
    detector, _, written = write(tmp_path, LSSTCAM, "R22_S11", "MC_O_20260315_000051", False)
    with open_verified(written.path) as hdus:
        assert hdus[1].header["DATASEC"] == "[11:522,1:2002]"
    assert (
        any(c.keyword == "DATASEC" for c in written.changes) is False
    )  # silently reserved, not a value problem


def test_writer_only_header_is_marked_and_still_valid(tmp_path: Path) -> None:
    detector = LSSTCAM.detector("R10_S02")
    written = RawFitsWriter().write(
        tmp_path,
        LSSTCAM,
        detector,
        amplifier_pixels(detector),
        exposure_metadata("MC_O_20260315_000052"),
        None,
        header_problem="corrupt: not valid YAML at line 3",
    )
    run_fitsverify(written.path)
    with open_verified(written.path) as hdus:
        assert hdus[0].header["HDRSRC"] == "Archiver"
        assert hdus[0].header["HDRNOTE"] == "corrupt: not valid YAML at line 3"
        assert len(hdus) == 17  # no REB_COND without REB telemetry


def test_every_hostile_header_value_yields_a_clean_file_and_a_record(tmp_path: Path) -> None:
    detector = LSSTCAM.detector("R22_S11")
    obsid = "MC_O_20260315_000053"
    hostile = HeaderServiceFile(
        primary=(
            Card("OBSID", obsid),
            Card("AIRTEMP", float("nan")),
            Card("PRESSURE", float("inf")),
            Card("HUMIDITY", float("-inf")),
            Card("EXPTIME", "fifteen"),
            Card("SEQNUM", 51.5),
            Card("DAYOBS", 20260315),
            Card("OBJECT", "N" * 200),
            Card("PROGRAM", "Programme d'été ☀"),
            Card("REASON", None),
            Card("bad=key", 1),
            Card("lowercase", 2),
            Card("NAXIS2", 7),
            Card("CHECKSUM", "AAAAAAAAAAAAAAAA"),
            Card("SHUTTER OPEN MOTION", 0.25, "HIERARCH ok"),
            Card("ROTPA", [1, 2]),  # type: ignore[arg-type]
        ),
        segments={(detector.name, "07"): (Card("GAIN", float("nan")), Card("NOISE", "low ≈5", "é"))},
        source="hostile.yaml",
    )
    written = RawFitsWriter(compress=True).write(
        tmp_path, LSSTCAM, detector, amplifier_pixels(detector), exposure_metadata(obsid), hostile
    )
    run_fitsverify(written.path)
    recorded = {c.keyword for c in written.changes}
    assert {
        "AIRTEMP",
        "PRESSURE",
        "HUMIDITY",
        "EXPTIME",
        "SEQNUM",
        "DAYOBS",
        "OBJECT",
        "PROGRAM",
        "REASON",
        "bad=key",
        "lowercase",
        "NAXIS2",
        "CHECKSUM",
        "ROTPA",
        "GAIN",
        "NOISE",
    } <= recorded
    with open_verified(written.path) as hdus:
        primary = hdus[0].header
        assert primary["EXPTIME"] == 15.0  # the writer's value survives the bad one
        assert primary["SEQNUM"] == 53 and primary["DAYOBS"] == "20260315"  # writer-owned
        assert primary["OBJECT"] == "N" * 68 and primary["PROGRAM"] == "Programme d'ete"
        assert primary["LOWERCASE"] == 2 and primary["SHUTTER OPEN MOTION"] == 0.25
        assert "AIRTEMP" not in primary and "ROTPA" not in primary
        assert hdus[9].header["EXTNAME"] == "Segment07" and hdus[9].header["NOISE"] == "low 5"


def test_same_input_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _, _, one = write(first, LSSTCAM, "R22_S11", "MC_O_20260315_000051", False)
    _, _, two = write(second, LSSTCAM, "R22_S11", "MC_O_20260315_000051", False)
    assert one.path.read_bytes() == two.path.read_bytes()


def test_promised_18_bit_samples_give_the_same_file(tmp_path: Path) -> None:
    detector = LSSTCAM.detector("R01_S01")
    pixels = amplifier_pixels(detector)
    metadata = exposure_metadata("MC_O_20260315_000051")
    paths = []
    for bits in (None, 18):
        directory = tmp_path / str(bits)
        directory.mkdir()
        writer = RawFitsWriter(sample_bits=bits, sidecar=False)
        paths.append(writer.write(directory, LSSTCAM, detector, pixels, metadata, written_at=TAI_BEGIN).path)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_datasums_are_reported_per_amplifier(tmp_path: Path) -> None:
    _, _, plain = write(tmp_path, LATISS, "R00_S00", "AT_O_20260315_000051", False)
    with open_verified(plain.path) as hdus:
        assert plain.datasums == tuple(int(h.header["DATASUM"]) for h in hdus[1:17])


@pytest.mark.parametrize("digest", ["crc32", "md5", "sha256"])
def test_optional_digest_goes_into_the_sidecar(tmp_path: Path, digest: str) -> None:
    detector = LATISS.detector(0)
    written = RawFitsWriter(digest=digest).write(
        tmp_path, LATISS, detector, amplifier_pixels(detector), exposure_metadata("AT_O_20260315_000051")
    )
    assert written.checksum is not None and written.checksum.startswith(f"{digest}:")
    assert read_sidecar(written.sidecar_path).checksum == written.checksum


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "RICE_1"])
@pytest.mark.parametrize("digest", ["crc32", "md5"])
def test_the_digest_hashed_while_writing_is_the_digest_of_the_file(
    tmp_path: Path, digest: str, compress: bool
) -> None:
    # With REB_COND, the compressed file is hashed across three writers:
    # the serializer (primary), cfitsio (the extensions), the serializer again.
    obsid, detector = "CC_O_20260315_000051", LSST_COMCAM.detector("R22_S11")
    written = RawFitsWriter(compress=compress, digest=digest).write(
        tmp_path,
        LSST_COMCAM,
        detector,
        amplifier_pixels(detector, seed=detector.id),
        exposure_metadata(obsid),
        header_file(obsid, detector),
        reb_conditions=REB_CONDITIONS,
    )
    assert written.checksum == file_checksum(written.path, digest)
    assert read_sidecar(written.sidecar_path).checksum == written.checksum


def test_wrong_pixel_arrays_raise_pixel_data_error(tmp_path: Path) -> None:
    detector = LSSTCAM.detector("R22_S11")
    writer = RawFitsWriter()
    metadata = exposure_metadata("MC_O_20260315_000051")
    good = amplifier_pixels(detector)
    with pytest.raises(PixelDataError, match="16 amplifiers but 8"):
        writer.write(tmp_path, LSSTCAM, detector, good[:8], metadata)
    with pytest.raises(PixelDataError, match="shape"):
        writer.write(tmp_path, LSSTCAM, detector, good[:, :100], metadata)
    with pytest.raises(PixelDataError, match="dtype float64"):
        writer.write(tmp_path, LSSTCAM, detector, good.astype(np.float64), metadata)
    assert list(tmp_path.iterdir()) == []


def test_disk_full_while_writing_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, buffers: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "writev", full)
    detector = LATISS.detector(0)
    with pytest.raises(DiskFullError, match="AT_O_20260315_000051_R00_S00.fits"):
        RawFitsWriter().write(
            tmp_path, LATISS, detector, amplifier_pixels(detector), exposure_metadata("AT_O_20260315_000051")
        )
    assert list(tmp_path.iterdir()) == []


def test_writer_pickles_without_its_scratch_buffer(tmp_path: Path) -> None:
    import pickle

    writer = RawFitsWriter(compress=False, sidecar=False)
    detector = LATISS.detector(0)
    writer.write(
        tmp_path, LATISS, detector, amplifier_pixels(detector), exposure_metadata("AT_O_20260315_000051")
    )
    assert len(pickle.dumps(writer)) < 10_000


def test_a_compressed_extension_is_cfitsios_byte_for_byte_plus_its_checksums(tmp_path: Path) -> None:
    from lsst.ts.archiver.fits.rice import seal_rice_image

    rng = np.random.default_rng(7)
    image = rng.normal(20_000, 6, (2048, 576)).astype(np.int32)
    image[100, :] = rng.integers(-(2**31), 2**31 - 1, 576, dtype=np.int64).astype(np.int32)  # any int32
    cards = [Card("DATASEC", "[4:512,1:2000]", "data section"), Card("ZDATASUM", "123", "uncompressed")]
    ours = b"".join(bytes(b) for b in seal_rice_image(image, cards, "Segment10").buffers())
    reference = tmp_path / "cfitsio.fits"
    with fitsio.FITS(str(reference), "rw") as f:
        f.write(None)
        f.write(
            image,
            extname="Segment10",
            header=[{"name": c.keyword, "value": c.value, "comment": c.comment} for c in cards],
            compress="RICE",
            tile_dims=[1, 576],
        )
    theirs = reference.read_bytes()[2880:]
    cards_of = lambda header: [header[i : i + 80] for i in range(0, 2880, 80)]  # noqa: E731
    ours_cards = [c for c in cards_of(ours) if not c.startswith((b"CHECKSUM", b"DATASUM "))]
    assert ours_cards[: len(cards_of(theirs)) - 2] == cards_of(theirs)[:-2]  # the same cards, in order
    assert ours[2880:] == theirs[2880:]  # the same table and heap
    mine = tmp_path / "ours.fits"
    mine.write_bytes(reference.read_bytes()[:2880] + ours)
    run_fitsverify(mine)
    with fitsio.FITS(str(mine)) as f:
        f[1].verify_checksum()
        assert np.array_equal(f[1].read(), image)


@pytest.mark.parametrize("reb", [None, REB_CONDITIONS], ids=["no REB_COND", "REB_COND"])
def test_durable_compressed_write_flushes_file_directory_and_sidecar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reb: dict[str, object] | None
) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    detector = LATISS.detector(0)
    written = RawFitsWriter(compress=True, fsync=True).write(
        tmp_path,
        LATISS,
        detector,
        amplifier_pixels(detector),
        exposure_metadata("AT_O_20260315_000051"),
        reb_conditions=reb,  # type: ignore[arg-type]
    )
    run_fitsverify(written.path)
    assert len(synced) >= 3  # FITS file, its directory entry, the sidecar


def test_big_endian_input_gives_the_same_file(tmp_path: Path) -> None:
    detector = LATISS.detector(0)
    pixels = amplifier_pixels(detector)
    metadata = exposure_metadata("AT_O_20260315_000051")
    paths = []
    for name, data in (("native", pixels), ("big", pixels.astype(">i4"))):
        directory = tmp_path / name
        directory.mkdir()
        writer = RawFitsWriter(sidecar=False)
        paths.append(writer.write(directory, LATISS, detector, data, metadata, written_at=TAI_BEGIN).path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
