"""Local-directory transfers: a raw appears under its name only once verified."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lsst.ts.archiver.delivery import Transferrer, VerificationError, VerifyMode


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
