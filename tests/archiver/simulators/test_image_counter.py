"""Image sequence numbers survive restarts and never repeat a DAQ name."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsst.ts.archiver.simulators import ImageCounter


def test_allocate_counts_up_per_camera_and_day(tmp_path: Path) -> None:
    counter = ImageCounter(tmp_path / "state.json")
    names = [str(counter.allocate("CC", "O", 20241123)) for _ in range(3)]
    assert names == ["CC_O_20241123_000001", "CC_O_20241123_000002", "CC_O_20241123_000003"]
    assert str(counter.allocate("CC", "O", 20241124)) == "CC_O_20241124_000001"
    assert str(counter.allocate("MC", "O", 20241123)) == "MC_O_20241123_000001"


def test_controllers_share_the_counter(tmp_path: Path) -> None:
    counter = ImageCounter(tmp_path / "state.json")
    assert str(counter.allocate("MC", "O", 20241123)) == "MC_O_20241123_000001"
    assert str(counter.allocate("MC", "C", 20241123)) == "MC_C_20241123_000002"


def test_a_new_counter_on_the_same_file_continues_the_sequence(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    ImageCounter(path).allocate("AT", "O", 20241123)
    assert ImageCounter(path).allocate("AT", "O", 20241123).seq_num == 2
    assert ImageCounter(path).last("AT", 20241123) == 2


def test_existing_names_push_the_sequence_past_them(tmp_path: Path) -> None:
    counter = ImageCounter(tmp_path / "state.json")
    existing = [
        "CC_O_20241123_000041",
        "CC_C_20241123_000007",
        "MC_O_20241123_000099",
        "junk",
        "CC_O_20241122_000500",
    ]
    assert counter.allocate("CC", "O", 20241123, existing).seq_num == 42


def test_corrupt_state_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="state.json is not valid JSON"):
        ImageCounter(path).allocate("CC", "O", 20241123)
    path.write_text('{"CC_20241123": "seven"}')
    with pytest.raises(ValueError, match="must map"):
        ImageCounter(path).last("CC", 20241123)
