"""``run_catchup_archiver``: the Catch-Up Archiver as a process of its own, no CSC running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.ledger import CaptureState, Ledger
from lsst.ts.archiver.testing import wait_until_sync, write_config_dir

SCRIPT = Path(__file__).parents[3] / "bin" / "run_catchup_archiver"
MISSED = ["AT_O_20261123_000031", "AT_O_20261123_000032"]
IN_PROGRESS = "AT_O_20261123_000033"  # a live Archiver is capturing it (registered just now)


def dbb_raws(repo: Path) -> int:
    butler = open_repository(repo, writeable=False)
    try:
        return len(
            butler.query_datasets("raw", collections=raw_run("LATISS"), instrument="LATISS", explain=False)
        )
    finally:
        butler.close()


@pytest.mark.integration  # a real process, a Butler repository
def test_the_catch_up_archiver_archives_what_was_missed_and_leaves_images_in_progress(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    generator = PixelGenerator(cosmic_rays=0, saturated_spots=0)
    for name in [*MISSED, IN_PROGRESS]:
        store.add_image(name, generator=generator)
    store.close()
    config_dir = write_config_dir(
        "ATArchiver",
        tmp_path,
        daq={"root": str(tmp_path / "daq"), "wait_timeout": 2.0},
        header_service={"name": "", "wait_timeout": 1.0},
        catch_up={"interval": 1.0, "rate": 600.0, "stale_after": 3600.0},
    )
    ledger_path = tmp_path / "ledger.sqlite3"
    with Ledger(ledger_path) as ledger:
        ledger.register_image(IN_PROGRESS, camera="LATISS", day_obs=20261123, expected={"R00_S00": 0})
    log = tmp_path / "catch-up.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "ATArchiver", f"--config-dir={config_dir}", "--site=test"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:

        def archived() -> bool:
            assert process.poll() is None, log.read_text()
            with Ledger(ledger_path) as ledger:
                return all(ledger.has_image(n) and ledger.image(n).archived_at is not None for n in MISSED)

        wait_until_sync(archived, what="the missed images archived by the Catch-Up Archiver")
        wait_until_sync(lambda: "Catch-up backlog: 0 image(s)" in log.read_text(), what="an empty backlog")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert dbb_raws(tmp_path / "repo-dbb") == 2
    with Ledger(ledger_path) as ledger:
        assert {ledger.image(n).archive_status for n in MISSED} == {0}
        # The image a live Archiver is capturing was left to it.
        assert [d.state for d in ledger.detectors(IN_PROGRESS)] == [CaptureState.PENDING]
        assert ledger.image(IN_PROGRESS).archived_at is None
    text = log.read_text()
    assert "Catch-Up Archiver for ATArchiver runs" in text and "archive registries asked: dbb" in text
    assert "Catch-Up Archiver stopped" in text


@pytest.mark.integration  # a real process
def test_a_bad_configuration_directory_is_a_clear_error_with_status_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "CCArchiver", f"--config-dir={tmp_path / 'nowhere'}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode == 2
    assert "Cannot read the configuration of CCArchiver" in result.stderr
    assert f"{tmp_path / 'nowhere'} does not exist" in result.stderr


def test_load_archiver_config_reads_the_checkout_s_configuration() -> None:
    from lsst.ts.archiver.catch_up.process import load_archiver_config

    camera, config = load_archiver_config(
        "CCArchiver", Path(__file__).parents[3] / "config" / "CCArchiver" / "v1", site=""
    )
    assert camera.name == "LSSTComCam"
    assert config.catch_up.interval > 0 and not config.catch_up.continuous
