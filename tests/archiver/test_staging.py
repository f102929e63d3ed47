"""The staging area: paths, atomic side files, manifest, write probe, free space, errno mapping, cleanup."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.ts.archiver.camera import LSST_COMCAM, InvalidImageNameError
from lsst.ts.archiver.error_codes import ArchiverFault, ErrorCode
from lsst.ts.archiver.fits import ExposureMetadata, make_expected_sensors, read_expected_sensors
from lsst.ts.archiver.ledger import Ledger, Trigger
from lsst.ts.archiver.staging import StagingArea, staging_error_code

NAME = "CC_O_20261123_000042"
NOBODY = 65534


def hidden_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob(".*"))


@contextlib.contextmanager
def read_only_directory() -> Iterator[Path]:
    """A directory this process may not write into, even when the tests run as root.

    As root (who may write anywhere) the body runs with the effective user
    ``nobody``; the directory is then outside pytest's private temporary
    tree, which ``nobody`` cannot enter.
    """
    parent = Path(tempfile.mkdtemp(prefix="ts_archiver_staging_"))
    parent.chmod(0o755)
    directory = parent / "staging"
    directory.mkdir()
    directory.chmod(0o555)
    privileged = os.geteuid() == 0
    try:
        if privileged:
            os.setegid(NOBODY)
            os.seteuid(NOBODY)
        try:
            yield directory
        finally:
            if privileged:
                os.seteuid(0)
                os.setegid(0)
    finally:
        directory.chmod(0o755)
        shutil.rmtree(parent)


def test_an_image_directory_is_day_obs_then_obsid(tmp_path: Path) -> None:
    staging = StagingArea(tmp_path)
    assert staging.image_dir(NAME) == tmp_path / "20261123" / NAME
    assert staging.metadata_path(NAME) == tmp_path / "20261123" / NAME / f"{NAME}_camera.json"
    assert staging.header_path(NAME) == tmp_path / "20261123" / NAME / f"{NAME}_header.yaml"
    assert staging.manifest_path(NAME) == tmp_path / "20261123" / NAME / f"{NAME}_expectedSensors.json"
    assert not (tmp_path / "20261123").exists(), "paths are pure"
    with pytest.raises(InvalidImageNameError):
        staging.image_dir("../escape")


def test_side_files_round_trip(tmp_path: Path) -> None:
    staging = StagingArea(tmp_path / "staging", fsync=True)
    metadata = ExposureMetadata(
        obsid=NAME, imgtype="FLAT", exptime=15.0, curindex=2, extra={"REASON": "twilight"}
    )
    assert staging.load_metadata(NAME) is None and staging.load_header(NAME) is None
    assert staging.save_metadata(NAME, metadata) == staging.metadata_path(NAME)
    assert staging.save_header(NAME, "PRIMARY: []\n") == staging.header_path(NAME)
    assert staging.load_metadata(NAME) == metadata
    assert staging.load_header(NAME) == "PRIMARY: []\n"
    assert hidden_files(tmp_path) == []


def test_a_failed_side_file_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = StagingArea(tmp_path)
    staging.save_header(NAME, "first\n")

    def disk_full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ArchiverFault) as info:
        staging.save_header(NAME, "second\n")
    monkeypatch.undo()
    assert info.value.code is ErrorCode.STAGING_FULL
    assert str(staging.header_path(NAME)) in info.value.report and "free space" in info.value.report
    assert staging.load_header(NAME) == "first\n"
    assert hidden_files(tmp_path) == [], "the temporary file is removed"


def test_unreadable_saved_metadata_is_ignored_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("test.staging")
    staging = StagingArea(tmp_path, log=log)
    staging.save_header(NAME, "x")  # creates the directory
    staging.metadata_path(NAME).write_text('{"obsid": "x", "no_such_field": 1}')
    with caplog.at_level(logging.WARNING, logger="test.staging"):
        assert staging.load_metadata(NAME) is None
    assert [r.name for r in caplog.records] == ["test.staging"]
    assert str(staging.metadata_path(NAME)) in caplog.records[0].getMessage()


def test_the_manifest_is_written_in_the_image_directory(tmp_path: Path) -> None:
    staging = StagingArea(tmp_path)
    manifest = make_expected_sensors(LSST_COMCAM, NAME)
    path = staging.write_manifest(manifest)
    assert path == staging.manifest_path(NAME)
    assert read_expected_sensors(path) == manifest


def test_the_probe_of_a_read_only_directory_is_staging_not_writable() -> None:
    with read_only_directory() as directory:
        staging = StagingArea(directory)
        with pytest.raises(ArchiverFault) as info:
            staging.check(min_free_space=0.0)
        assert list(directory.iterdir()) == []
    assert info.value.code is ErrorCode.STAGING_NOT_WRITABLE
    report = info.value.report
    assert f"Staging area {directory} is not writable" in report
    assert os.strerror(errno.EACCES) in report and "owner, mode and mount options" in report


def test_a_file_in_place_of_the_staging_directory_is_staging_not_writable(tmp_path: Path) -> None:
    (tmp_path / "staging").write_text("a file, not a directory")
    staging = StagingArea(tmp_path / "staging")
    for call in (
        staging.probe,
        lambda: staging.create_image_dir(NAME),
        lambda: staging.save_header(NAME, "x"),
    ):
        with pytest.raises(ArchiverFault) as info:
            call()
        assert info.value.code is ErrorCode.STAGING_NOT_WRITABLE, info.value.report
        assert str(tmp_path / "staging") in info.value.report
    with pytest.raises(ArchiverFault) as info:
        StagingArea(tmp_path / "missing").free_space()
    assert info.value.code is ErrorCode.STAGING_NOT_WRITABLE
    assert "measure the free space" in info.value.report


def test_only_no_space_maps_to_staging_full() -> None:
    assert staging_error_code(OSError(errno.ENOSPC, "No space left on device")) is ErrorCode.STAGING_FULL
    assert staging_error_code(OSError(errno.EDQUOT, "Disk quota exceeded")) is ErrorCode.STAGING_FULL
    for code in (errno.EACCES, errno.EROFS, errno.ENOTDIR, errno.EIO):
        assert staging_error_code(OSError(code, os.strerror(code))) is ErrorCode.STAGING_NOT_WRITABLE
    assert staging_error_code(OSError("no errno")) is ErrorCode.STAGING_NOT_WRITABLE


def test_a_probe_that_hits_enospc_is_staging_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    with pytest.raises(ArchiverFault) as info:
        StagingArea(tmp_path).probe()
    assert info.value.code is ErrorCode.STAGING_FULL
    assert f"Staging area {tmp_path} is full" in info.value.report
    assert "staging.directory" in info.value.report


def test_too_little_free_space_is_staging_full(tmp_path: Path) -> None:
    staging = StagingArea(tmp_path)
    free = staging.check(min_free_space=0.0)
    assert free == pytest.approx(staging.free_space(), rel=0.01) and free > 0
    with pytest.raises(ArchiverFault) as info:
        staging.check(min_free_space=1e9)
    assert info.value.code is ErrorCode.STAGING_FULL
    assert str(tmp_path) in info.value.report and "min_free_space 1e+09 GB" in info.value.report


def test_cleanup_removes_only_images_completely_archived_longer_than_the_retention(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", create=True)
    staging = StagingArea(tmp_path / "staging")
    names = {
        "old": "CC_O_20261122_000001",
        "recent": "CC_O_20261123_000001",
        "unfinished": "CC_O_20261123_000002",
        "unknown": "CC_O_20261123_000003",
        "incomplete": "CC_O_20261123_000004",
    }
    try:
        for key, name in names.items():
            staging.save_header(name, "x")
            if key == "unknown":
                continue
            ledger.register_image(
                name, camera="LSSTComCam", day_obs=int(name[5:13]), expected={}, trigger=Trigger.LIVE
            )
        ledger.mark_archived(names["old"], 0, "done", now=now - 7200)
        ledger.mark_archived(names["recent"], 0, "done", now=now - 60)
        # Archived long ago with a file missing: kept, retryImage may deliver it again.
        ledger.mark_archived(names["incomplete"], 1, "R22_S11 missing", now=now - 7200)
        (tmp_path / "staging" / "20261123" / "not-an-image").mkdir()
        removed = staging.clean_archived(ledger, retention=3600, now=now)
    finally:
        ledger.close()
    assert removed == [names["old"]]
    assert not (tmp_path / "staging" / "20261122").exists(), "an emptied day_obs directory is removed"
    left = sorted(p.name for p in (tmp_path / "staging" / "20261123").iterdir())
    kept = [names["recent"], names["unfinished"], names["unknown"], names["incomplete"], "not-an-image"]
    assert left == sorted(kept)


def test_cleanup_of_a_missing_staging_area_removes_nothing(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", create=True)
    try:
        assert StagingArea(tmp_path / "missing").clean_archived(ledger, retention=0) == []
    finally:
        ledger.close()
