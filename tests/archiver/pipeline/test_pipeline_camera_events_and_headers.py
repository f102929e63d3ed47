"""Camera events to the Archiver's metadata; Header Service announcements, waits and fetches."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import types
from pathlib import Path

import pytest

from lsst.ts.archiver.pipeline import HeaderTracker, exposure_metadata_from_events, parse_additional_keys
from lsst.ts.archiver.pipeline.header_policy import HeaderFetchPolicy

NAME = "CC_O_20261123_000042"


def files_under(root: Path) -> HeaderFetchPolicy:
    """A policy that allows file:// headers under ``root`` only."""
    return HeaderFetchPolicy(schemes=frozenset({"file"}), file_root=str(root))


def end_of_image(**overrides: object) -> types.SimpleNamespace:
    fields = dict(
        imageName=NAME,
        additionalKeys="imageType:groupId:reason",
        additionalValues="flat:2026-11-24T04\\:52\\:01.128:twilight",
        imagesInSequence=3,
        imageIndex=2,
        exposureTime=15.0,
        timestampDateObs=1_795_000_000.0,
        timestampDateEnd=1_795_000_015.0,
        darkTime=15.2,
        measuredShutterOpenTime=14.9,
    )
    fields.update(overrides)
    return types.SimpleNamespace(**fields)


def test_additional_values_may_escape_colons() -> None:
    assert parse_additional_keys("a:b", "x\\:y:z") == {"a": "x:y", "b": "z"}
    assert parse_additional_keys("a:b:c", "1") == {"a": "1", "b": "", "c": ""}
    assert parse_additional_keys("", "") == {}


def test_end_of_image_telemetry_gives_the_exposure_metadata() -> None:
    metadata = exposure_metadata_from_events(end_of_image())
    assert metadata.obsid == NAME
    assert (metadata.imgtype, metadata.groupid) == ("FLAT", "2026-11-24T04:52:01.128")
    assert (metadata.exptime, metadata.darktime, metadata.shuttime) == (15.0, 15.2, 14.9)
    assert (metadata.date_beg, metadata.date_end) == (1_795_000_000.0, 1_795_000_015.0)
    assert (metadata.curindex, metadata.maxindex) == (2, 3)
    assert dict(metadata.extra) == {"REASON": "twilight"}


def test_unset_event_values_stay_unknown() -> None:
    data = end_of_image(
        additionalKeys="", additionalValues="", timestampDateObs=0.0, darkTime=float("nan"), imageIndex=0
    )
    metadata = exposure_metadata_from_events(data)
    assert metadata.imgtype is None and metadata.date_beg is None and metadata.darktime is None
    assert metadata.curindex is None


def test_start_integration_supplies_missing_additional_keys() -> None:
    start = types.SimpleNamespace(additionalKeys="imageType", additionalValues="BIAS")
    metadata = exposure_metadata_from_events(end_of_image(additionalKeys="", additionalValues=""), start)
    assert metadata.imgtype == "BIAS"


async def test_header_announced_before_the_wait_is_fetched_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text("PRIMARY:\n- {keyword: OBSID, value: X}\n")
    tracker = HeaderTracker(policy=files_under(tmp_path))
    tracker.announce(NAME, path.as_uri(), hashlib.md5(path.read_bytes()).hexdigest())
    header = await tracker.header_for(NAME, timeout=0.1)
    assert header.text == path.read_text() and header.problem is None


async def test_header_announced_during_the_wait_ends_it(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text("PRIMARY:\n- {keyword: OBSID, value: X}\n")
    tracker = HeaderTracker(policy=files_under(tmp_path))
    waiting = asyncio.create_task(tracker.header_for(NAME, timeout=10))
    await asyncio.sleep(0.05)
    tracker.announce(NAME, path.as_uri())
    header = await asyncio.wait_for(waiting, 2)
    assert header.text is not None


async def test_missing_unreadable_and_corrupt_headers_say_why(tmp_path: Path) -> None:
    tracker = HeaderTracker(policy=files_under(tmp_path))
    assert (await tracker.header_for(NAME, timeout=0.05)).problem == "no header after 0.05 s"
    tracker.announce(NAME, (tmp_path / "missing.yaml").as_uri())
    assert (await tracker.header_for(NAME, timeout=0)).problem == "header file unreadable"
    path = tmp_path / "h.yaml"
    path.write_text("PRIMARY: []\n")
    tracker.announce(NAME, path.as_uri(), "0" * 32)
    assert (await tracker.header_for(NAME, timeout=0)).problem == "header checksum mismatch"


def test_only_the_most_recent_announcements_are_kept() -> None:
    tracker = HeaderTracker(max_remembered=2)
    for index in range(3):
        tracker.announce(f"CC_O_20261123_00000{index + 1}", "file:///x")
    assert tracker.get("CC_O_20261123_000001") is None
    assert tracker.get("CC_O_20261123_000003") is not None


async def test_unusable_headers_are_logged_to_the_given_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = HeaderTracker(policy=files_under(tmp_path), log=logging.getLogger("test.HeaderTracker"))
    path = tmp_path / "h.yaml"
    path.write_text("PRIMARY: []\n")
    with caplog.at_level(logging.WARNING, logger="test.HeaderTracker"):
        tracker.announce(NAME, (tmp_path / "missing.yaml").as_uri())
        await tracker.header_for(NAME, timeout=0)
        tracker.announce(NAME, path.as_uri(), "0" * 32)
        await tracker.header_for(NAME, timeout=0)
    messages = [r.getMessage() for r in caplog.records if r.name == "test.HeaderTracker"]
    assert len(messages) == 2
    assert "missing.yaml" in messages[0] and "announced 00000000" in messages[1]
