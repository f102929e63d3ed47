"""The daq_store command-line tool, run as a subprocess like an operator would."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lsst.ts.archiver.daq import EmulatedDaqStore
from lsst.ts.archiver.testing import STD_TIMEOUT

pytestmark = pytest.mark.integration  # runs bin/daq_store

REPO = Path(__file__).resolve().parents[3]
TOOL = REPO / "bin" / "daq_store"
SMALL = {"UnderCols": 2, "ReadCols": 4, "OverCols": 2, "ReadRows": 3, "OverRows": 1}


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DAQ_STORE_ROOT", "DAQ_PARTITION")}
    return subprocess.run(
        [sys.executable, str(TOOL), "--root", str(root), "--partition", "comcam", *args],
        capture_output=True,
        text=True,
        timeout=STD_TIMEOUT,
        env=env,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("daq")
    with EmulatedDaqStore(path, "comcam", capacity=10**9) as store:
        store.create_image("CC_O_20241123_000001", registers=SMALL, timestamp=1732400000.0, tag=0xABC)
        pixels = np.full((3, 16, 4, 8), 1234, dtype=np.int32)
        for location in ("R22/Reb0", "R22/Reb1", "R22/Reb2"):
            store.write_pixels("CC_O_20241123_000001", location, pixels)
        store.create_image(
            "CC_O_20241124_000002", locations=["R22/Reb0"], registers=SMALL, timestamp=1732500000.0
        )
    return path


def test_list_shows_images_oldest_first_with_state(root: Path) -> None:
    result = _run(root, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "FOLDER", "TRIGGERED"]
    assert (
        lines[1].startswith("CC_O_20241123_000001")
        and "complete" in lines[1]
        and "0000000000000abc" in lines[1]
    )
    assert lines[2].startswith("CC_O_20241124_000002") and "0/1" in lines[2]
    assert lines[-1] == "2 images"


def test_list_filters_by_day_obs(root: Path) -> None:
    result = _run(root, "list", "--since", "20241124")
    assert result.returncode == 0, result.stderr
    assert "CC_O_20241124_000002" in result.stdout and "CC_O_20241123_000001" not in result.stdout


def test_show_prints_metadata_and_sources(root: Path) -> None:
    result = _run(root, "show", "CC_O_20241123_000001")
    assert result.returncode == 0, result.stderr
    assert "tag         0000000000000abc" in result.stdout
    assert "R22/Reb1   SCIENCE    R22_S10 R22_S11 R22_S12" in result.stdout
    assert "8x4" in result.stdout


def test_read_decodes_and_prints_amplifier_statistics(root: Path, tmp_path: Path) -> None:
    output = tmp_path / "pixels.npy"
    result = _run(root, "read", "CC_O_20241123_000001", "R22/Reb1", "--output", str(output))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("R22_S1")]
    assert len(rows) == 48
    assert rows[0][:3] == ["R22_S10", "Segment10", "1234.0"]
    assert np.load(output).shape == (3, 16, 4, 8)


def test_capacity_reports_used_and_remaining(root: Path) -> None:
    result = _run(root, "capacity")
    assert result.returncode == 0, result.stderr
    assert "capacity    1.00 GB" in result.stdout
    assert "by 2 images" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "CC_O_20241123_000099"), "image CC_O_20241123_000099 not found in DAQ folder 'raw'"),
        (("read", "CC_O_20241124_000002", "R22/Reb0"), "not complete yet"),
        (("read", "CC_O_20241123_000001", "R22/Reb7"), "R22/Reb7"),
        (("list", "--folder", "nope"), "folder 'nope' does not exist"),
    ],
)
def test_errors_exit_non_zero_with_a_clear_message(root: Path, args: tuple[str, ...], message: str) -> None:
    result = _run(root, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_store_is_reported_not_created(tmp_path: Path) -> None:
    result = _run(tmp_path / "typo", "list")
    assert result.returncode == 1
    assert "no emulated DAQ store" in result.stderr
    assert not (tmp_path / "typo").exists()
