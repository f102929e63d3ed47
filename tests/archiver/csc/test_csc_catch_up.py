"""Continuous catch-up in an ATArchiver: the DAQ catalog, the ledger and the DBB's
registry compared every second, with ``catchUpStatus`` showing the backlog."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.butler import RawIngester, create_repository, open_repository, raw_run
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.ledger import CaptureState, Ledger, Trigger
from lsst.ts.archiver.testing import (
    make_primary_header,
    running_archiver,
    wait_until,
    write_config_dir,
    write_raw_file,
)

FOUND = "AT_O_20261123_000021"  # in the DBB already, never in this ledger
NEW = "AT_O_20261123_000022"  # nowhere but the DAQ
LOST = "AT_O_20261123_000023"  # archived, then lost from the DBB


def dbb_raws(repo: Path) -> dict[str, int]:
    """obsid -> raw datasets in the DBB repository."""
    butler = open_repository(repo, writeable=False)
    try:
        refs = butler.query_datasets(
            "raw",
            collections=raw_run("LATISS"),
            instrument="LATISS",
            with_dimension_records=True,
            explain=False,
        )
        counts: dict[str, int] = {}
        for ref in refs:
            exposure = ref.dataId.records["exposure"]
            assert exposure is not None
            counts[exposure.obs_id] = counts.get(exposure.obs_id, 0) + 1
        return counts
    finally:
        butler.close()


def lose_from_dbb(repo: Path, obsid: str) -> None:
    """Remove an exposure's raws from the DBB (registry and files), as a lost copy would be."""
    butler = open_repository(repo)
    try:
        refs = list(
            butler.query_datasets(
                "raw",
                collections=raw_run("LATISS"),
                instrument="LATISS",
                where=f"exposure.obs_id = '{obsid}'",
            )
        )
        assert refs
        butler.pruneDatasets(refs, purge=True, unstore=True)
    finally:
        butler.close()


class Statuses:
    """Every ``catchUpStatus`` a Remote receives."""

    def __init__(self, remote: salkit.Remote) -> None:
        self.samples: list[Any] = []
        remote.evt_catchUpStatus.callback = self.samples.append


@pytest.mark.integration  # a whole Archiver, end to end, with a DBB registry
async def test_continuous_catch_up_records_archives_and_delivers_again_what_each_source_calls_for(
    tmp_path: Path,
) -> None:
    store = EmulatedDaqStore(tmp_path / "sim" / "daq", "lat")
    # The DBB already holds FOUND (archived by another Archiver before this ledger existed).
    repo = tmp_path / "repo-dbb"
    butler = create_repository(repo, instruments=["LATISS"])
    header = make_primary_header("LATISS", day_obs=20261123, seq_num=21, detector="R00_S00")
    (tmp_path / "elsewhere").mkdir()
    assert RawIngester(butler).ingest([write_raw_file(tmp_path / "elsewhere", header)]).ok
    butler.close()

    catch_up = {"continuous": True, "interval": 1.0, "rate": 600.0, "stale_after": 600.0}
    config_dir = write_config_dir(
        "ATArchiver",
        tmp_path,
        daq={"root": str(tmp_path / "sim" / "daq"), "wait_timeout": 2.0},
        header_service={"name": "", "wait_timeout": 1.0},
        catch_up=catch_up,
    )
    async with running_archiver("ATArchiver", config_dir) as (_csc, remote, log):
        statuses = Statuses(remote)
        # Images reach the DAQ while the Archiver runs (and hears nothing of them).
        generator = PixelGenerator(cosmic_rays=0, saturated_spots=0)
        try:
            for name in (FOUND, NEW, LOST):
                await asyncio.to_thread(store.add_image, name, generator=generator)
        finally:
            store.close()
        archived = await log.wait_for("evt_imageArchived", 2)
        assert sorted(a.obsid for a in archived) == [NEW, LOST]
        assert {a.statusCode for a in archived} == {0}
        await wait_until(
            lambda: any(s.backlogImages == 0 and s.rate > 0 for s in statuses.samples),
            what="a catchUpStatus with the backlog empty",
        )
        busy = [s for s in statuses.samples if s.backlogImages]
        assert busy and {s.oldestMissing for s in busy} <= {NEW, LOST}
        assert all(s.archiveReachable and s.destinationImages[0] > 0 for s in busy)
        assert statuses.samples[-1].timeToEmpty == 0.0

        # A copy lost from the DBB is found at the next pass and delivered again.
        await asyncio.to_thread(lose_from_dbb, repo, LOST)
        await wait_until(
            lambda: dbb_raws(repo).get(LOST) == 1, what=f"{LOST} delivered to the DBB again", timeout=120
        )
    assert dbb_raws(repo) == {FOUND: 1, NEW: 1, LOST: 1}
    assert sorted(r.obsid for r in log.of("evt_imageRetrievalForArchiving")) == [NEW, LOST]
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as ledger:
        found = ledger.image(FOUND)
        assert (found.trigger, found.archive_status) == (Trigger.CATCH_UP, 0)
        assert "found in dbb by catch-up" in (found.archive_description or "")
        assert [d.state for d in ledger.detectors(FOUND)] == [CaptureState.FOUND]
        assert ledger.deliveries(image=FOUND) == []
        (redelivered,) = [d for d in ledger.deliveries(image=LOST, destination="dbb") if d.item == "R00_S00"]
        assert redelivered.redelivery == "missing in the archive (found by catch-up)"
