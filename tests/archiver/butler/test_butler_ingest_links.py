"""``copy`` ingest hard-links files that are on the repository's file system."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import RawIngester, create_repository
from lsst.ts.archiver.testing import make_primary_header, write_raw_file

DAY_OBS = 20261123


@pytest.fixture
def butler(tmp_path: Path) -> Iterator[Butler]:
    made = create_repository(tmp_path / "repo", instruments=("LSSTComCam",))
    yield made
    made.close()


def staged_file(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    header = make_primary_header("LSSTComCam", day_obs=DAY_OBS, seq_num=17, detector="R22_S22")
    return write_raw_file(directory, header)


def repository_file(butler: Butler) -> Path:
    uri = butler.getURI(
        "raw",
        instrument="LSSTComCam",
        exposure=DAY_OBS * 100000 + 17,
        detector=8,
        collections="LSSTComCam/raw/all",
    )
    return Path(uri.ospath)


def test_a_copy_ingest_on_the_same_file_system_is_a_hard_link(butler: Butler, tmp_path: Path) -> None:
    path = staged_file(tmp_path / "dbb_buffer")
    assert RawIngester(butler, transfer="copy").ingest([path]).ok
    stored = repository_file(butler)
    assert stored != path and stored.is_relative_to(tmp_path / "repo")
    assert stored.stat().st_ino == path.stat().st_ino
    content = path.read_bytes()
    path.unlink()  # the buffer's cleanup removes its name only
    assert stored.read_bytes() == content


def test_link_copies_false_makes_a_real_copy(butler: Butler, tmp_path: Path) -> None:
    path = staged_file(tmp_path / "dbb_buffer")
    assert RawIngester(butler, transfer="copy", link_copies=False).ingest([path]).ok
    assert repository_file(butler).stat().st_ino != path.stat().st_ino


def test_a_copy_ingest_from_another_file_system_copies(butler: Butler, tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        path = staged_file(Path(shm))
        assert path.stat().st_dev != tmp_path.stat().st_dev, "/dev/shm must be another file system"
        assert RawIngester(butler, transfer="copy").ingest([path]).ok
        stored = repository_file(butler)
        assert stored.stat().st_dev == tmp_path.stat().st_dev
        assert stored.read_bytes() == path.read_bytes()
