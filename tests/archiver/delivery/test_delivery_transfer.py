"""Local-directory transfers: a raw appears under its name only once verified."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest

from lsst.ts.archiver.delivery import Transferrer, VerificationError, VerifyMode
from lsst.ts.archiver.metadata import RawSidecar, sidecar_path_for, write_sidecar


def source_file(tmp_path: Path, size: int = 100_000) -> Path:
    path = tmp_path / "source" / "CC_O_20261123_000001_R22_S11.fits"
    path.parent.mkdir()
    path.write_bytes(bytes(range(256)) * (size // 256))
    return path


def visible_and_hidden(directory: Path) -> tuple[list[str], list[str]]:
    names = sorted(p.name for p in directory.rglob("*") if p.is_file())
    return [n for n in names if not n.startswith(".")], [n for n in names if n.startswith(".")]


def test_a_verified_copy_is_renamed_into_place_and_leaves_no_partial(tmp_path: Path) -> None:
    source = source_file(tmp_path)
    (tmp_path / "target").mkdir()
    result = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM).put(
        str(source), "LSSTComCam/20261123/x/CC_O_20261123_000001_R22_S11.fits"
    )
    copied = tmp_path / "target" / "LSSTComCam" / "20261123" / "x" / source.name
    assert copied.read_bytes() == source.read_bytes()
    assert result.checksum == f"md5:{hashlib.md5(source.read_bytes()).hexdigest()}"
    assert visible_and_hidden(tmp_path / "target") == ([source.name], [])


def test_a_copy_that_fails_verification_never_appears_under_the_raws_name(tmp_path: Path) -> None:
    source = source_file(tmp_path)
    (tmp_path / "target").mkdir()
    transferrer = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM)
    with pytest.raises(VerificationError, match="MD5"):
        # The checksum recorded at capture differs from what reached the target.
        transferrer.put(str(source), f"x/{source.name}", md5="0" * 32)
    assert visible_and_hidden(tmp_path / "target") == ([], [])


def test_a_second_transfer_replaces_the_first_and_leaves_no_partial(tmp_path: Path) -> None:
    source = source_file(tmp_path)
    (tmp_path / "target").mkdir()
    transferrer = Transferrer(str(tmp_path / "target"), VerifyMode.SIZE)
    transferrer.put(str(source), source.name)
    source.write_bytes(b"new content" * 1000)
    transferrer.put(str(source), source.name)
    assert (tmp_path / "target" / source.name).read_bytes() == b"new content" * 1000
    assert visible_and_hidden(tmp_path / "target") == ([source.name], [])


# --- hard links on the same file system ------------------------------------


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def record_md5(path: Path, md5: str) -> Path:
    """Write the sidecar the FITS writer leaves next to a raw: its size and MD5."""
    observation = {"instrument": "LSSTComCam", "exposure_id": 2026112300001, "detector_num": 4}
    sidecar = RawSidecar(observation, filename=path.name, size=path.stat().st_size, checksum=f"md5:{md5}")
    return write_sidecar(sidecar_path_for(path), sidecar)


def test_a_same_file_system_destination_gets_a_hard_link_to_the_staged_inode(tmp_path: Path) -> None:
    source = source_file(tmp_path)
    (tmp_path / "target").mkdir()
    result = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM).put(str(source), f"x/{source.name}")
    delivered = tmp_path / "target" / "x" / source.name
    assert result.linked
    assert delivered.stat().st_ino == source.stat().st_ino
    assert source.stat().st_nlink == 2
    assert result.checksum == f"md5:{md5_of(source)}"
    assert visible_and_hidden(tmp_path / "target") == ([source.name], [])


def test_a_link_is_checked_against_the_md5_recorded_when_the_file_was_written(tmp_path: Path) -> None:
    source = source_file(tmp_path)
    record_md5(source, md5_of(source))
    (tmp_path / "target").mkdir()
    transferrer = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM)
    with pytest.raises(VerificationError, match=f"MD5 is {md5_of(source)}, not the expected {'0' * 32}"):
        transferrer.put(str(source), source.name, md5="0" * 32)
    assert visible_and_hidden(tmp_path / "target") == ([], [])
    assert transferrer.put(str(source), source.name, md5=md5_of(source)).checksum == f"md5:{md5_of(source)}"


def test_the_recorded_md5_is_used_without_reading_the_file(tmp_path: Path) -> None:
    # The sidecar records another MD5 than the bytes have: had the file been
    # read, the result would carry the bytes' MD5.
    source = source_file(tmp_path)
    record_md5(source, "f" * 32)
    (tmp_path / "target").mkdir()
    result = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM).put(str(source), source.name)
    assert result.linked and result.checksum == f"md5:{'f' * 32}"


def test_a_sidecar_older_than_its_file_is_not_trusted(tmp_path: Path) -> None:
    # A rewritten file whose new sidecar is not written yet: the MD5 is read.
    source = source_file(tmp_path)
    sidecar = record_md5(source, "f" * 32)
    os.utime(sidecar, ns=(source.stat().st_mtime_ns - 10**9,) * 2)
    (tmp_path / "target").mkdir()
    result = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM).put(str(source), source.name)
    assert result.checksum == f"md5:{md5_of(source)}"


def test_delivering_the_same_linked_file_again_leaves_no_partial(tmp_path: Path) -> None:
    # rename(2) of one link over another of the same inode does nothing.
    source = source_file(tmp_path)
    (tmp_path / "target").mkdir()
    transferrer = Transferrer(str(tmp_path / "target"), VerifyMode.SIZE)
    transferrer.put(str(source), source.name)
    assert transferrer.put(str(source), source.name).linked
    assert visible_and_hidden(tmp_path / "target") == ([source.name], [])
    assert source.stat().st_nlink == 2


def test_deleting_a_delivered_link_leaves_the_staged_file(tmp_path: Path) -> None:
    source = source_file(tmp_path)
    content = source.read_bytes()
    (tmp_path / "target").mkdir()
    Transferrer(str(tmp_path / "target"), VerifyMode.SIZE).put(str(source), source.name)
    (tmp_path / "target" / source.name).unlink()  # as the OODS cleaner does
    assert source.read_bytes() == content and source.stat().st_nlink == 1


def test_a_destination_on_another_file_system_gets_a_verified_copy(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        source = source_file(Path(shm))
        assert source.stat().st_dev != tmp_path.stat().st_dev, "/dev/shm must be another file system"
        (tmp_path / "target").mkdir()
        result = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM).put(str(source), source.name)
        delivered = tmp_path / "target" / source.name
        assert not result.linked
        assert (
            delivered.stat().st_ino != source.stat().st_ino or delivered.stat().st_dev != source.stat().st_dev
        )
        assert delivered.read_bytes() == source.read_bytes()
        assert result.checksum == f"md5:{md5_of(source)}"
        assert visible_and_hidden(tmp_path / "target") == ([source.name], [])


def test_link_false_copies_even_on_the_same_file_system(tmp_path: Path) -> None:
    source = source_file(tmp_path)
    (tmp_path / "target").mkdir()
    result = Transferrer(str(tmp_path / "target"), VerifyMode.CHECKSUM, link=False).put(
        str(source), source.name
    )
    assert not result.linked
    assert (tmp_path / "target" / source.name).stat().st_ino != source.stat().st_ino
    assert result.checksum == f"md5:{md5_of(source)}"
