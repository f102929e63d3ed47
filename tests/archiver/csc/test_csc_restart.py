"""The Archiver killed (SIGKILL) in the middle of a sequence and restarted:
every image completes, none is duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lsst.daf.butler import Butler

from lsst.ts.archiver.daq import EmulatedDaqStore, StoreUnavailableError
from lsst.ts.archiver.ledger import DeliveryStage, Ledger, LedgerSchemaError
from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until_sync, write_config_dir

pytestmark = pytest.mark.integration  # Archivers in their own processes, end to end

CHILD = Path(__file__).with_name("archiver_child.py")
N_IMAGES = 5


def _state(root: Path) -> tuple[list[str], int, int]:
    """(complete DAQ image names, images archived, images registered but unfinished)."""
    try:
        store = EmulatedDaqStore(root / "sim" / "daq", "lat", create=False)
    except StoreUnavailableError:
        return [], 0, 0
    try:
        # The camera simulator runs in the process that is killed: an image it
        # was still writing stays incomplete in the DAQ and is not counted.
        names = [image.name for image in store.list_images("raw", complete_only=True)]
    finally:
        store.close()
    ledger_path = root / "ledger.sqlite3"
    if not ledger_path.exists():
        return names, 0, 0
    try:
        ledger = Ledger(f"sqlite:///{ledger_path}", create=False)
    except LedgerSchemaError:
        return names, 0, 0  # the Archiver is still creating its ledger
    with ledger:
        archived = sum(1 for n in names if ledger.has_image(n) and ledger.image(n).archived_at is not None)
        unfinished = len(ledger.unfinished_images())
    return names, archived, unfinished


def test_killed_archiver_resumes_every_image_without_duplicates(tmp_path: Path) -> None:
    write_config_dir(
        "ATArchiver",
        tmp_path,
        daq={"root": str(tmp_path / "sim" / "daq")},
        header_service={"name": "", "wait_timeout": 2.0},
    )
    env = {**os.environ, "LSST_SITE": "test"}
    child = subprocess.Popen([sys.executable, str(CHILD), str(tmp_path), "sequence", str(N_IMAGES)], env=env)

    def state_of_running_child() -> tuple[list[str], int, int]:
        assert child.poll() is None, f"the first Archiver process exited with {child.returncode}"
        return _state(tmp_path)

    def mid_sequence() -> bool:
        names, archived, unfinished = state_of_running_child()
        return archived >= 1 and (unfinished >= 1 or len(names) > archived)

    try:
        wait_until_sync(lambda: state_of_running_child()[0], what="the first image in the DAQ store")
        wait_until_sync(mid_sequence, what="one image archived and more to come")
        child.send_signal(signal.SIGKILL)
        child.wait(STD_TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    names_at_kill, archived_at_kill, _ = _state(tmp_path)
    assert archived_at_kill < N_IMAGES

    restarted = subprocess.run(
        [sys.executable, str(CHILD), str(tmp_path), "resume"],
        env=env,
        timeout=STD_TIMEOUT * (N_IMAGES + 1),  # the child waits for each image in turn
        capture_output=True,
        text=True,
    )
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr

    names, archived, unfinished = _state(tmp_path)
    assert names[: len(names_at_kill)] == names_at_kill
    assert archived == len(names) and unfinished == 0
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", create=False) as ledger:
        for name in names:
            assert ledger.image(name).archive_status == 0, ledger.image(name).archive_description
            deliveries = ledger.deliveries(image=name)
            # One file + one manifest, to two destinations: exactly 4 items, all done.
            assert len(deliveries) == 4
            assert {d.stage for d in deliveries} == {DeliveryStage.DONE}
    for repo in ("repo-oods", "repo-dbb"):
        butler = Butler.from_config(str(tmp_path / repo), collections=["LATISS/raw/all"])
        try:
            refs = list(butler.query_datasets("raw", instrument="LATISS", limit=None))
        finally:
            butler.close()
        obs_ids = sorted(ref.dataId["exposure"] for ref in refs)
        assert len(obs_ids) == len(names) == len(set(obs_ids))
    oods_files = sorted(p.name for p in (tmp_path / "oods").rglob("*.fits"))
    assert len(oods_files) == len(set(oods_files)) == len(names)
