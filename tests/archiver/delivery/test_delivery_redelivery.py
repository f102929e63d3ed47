"""Delivering rewritten files again: every destination gets the new file, each Butler dataset
is replaced in place (same id), ``imageInOODS`` again, ``imageArchived`` again only if its
counts change."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from delivery_test_support import Exposure, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.delivery import DestinationConfig
from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.metadata import file_checksum
from lsst.ts.archiver.testing import make_primary_header, write_raw_file

REASON = "late Header Service header applied"
REWRITTEN = ("R22_S11", "R22_S12")


def destinations(tmp_path: Path) -> list[DestinationConfig]:
    for name in ("oods", "dbb"):
        (tmp_path / name).mkdir()
    return [
        destination("oods", "oods", str(tmp_path / "oods"), butler={"repo": str(tmp_path / "oods_repo")}),
        destination(
            "dbb",
            "dbb",
            str(tmp_path / "dbb"),
            butler={"repo": str(tmp_path / "dbb_repo"), "ingest_mode": "copy"},
        ),
    ]


def rewrite(exposure: Exposure, detector: str) -> Path:
    """Write a detector's staged file again, same pixels, with a late Header Service header."""
    header = make_primary_header(exposure.instrument, day_obs=exposure.day_obs, seq_num=1, detector=detector)
    header.update(OBJECT="late target", HDRSRC="HeaderService")
    index = list(exposure.files).index(detector)
    return write_raw_file(exposure.files[detector].parent, header, seed=1000 + index)


def raws(repo: Path, exposure: Exposure) -> dict[str, tuple[uuid.UUID, str]]:
    """Detector full name → (dataset id, OBJECT of the primary header)."""
    butler = open_repository(repo, writeable=False)
    try:
        refs = butler.query_datasets(
            "raw", collections=raw_run(exposure.instrument), instrument=exposure.instrument, explain=False
        )
        found = {}
        for ref in refs:
            header = butler.get(ref.makeComponentRef("header"))
            found[f"{header['RAFTBAY']}_{header['CCDSLOT']}"] = (ref.id, str(header.get("OBJECT", "")))
        return found
    finally:
        butler.close()


async def test_redelivered_files_replace_their_datasets_in_place_and_report_once_more(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    exposure = exposure_factory()
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations(tmp_path), results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(60)
            before = {repo: raws(tmp_path / repo, exposure) for repo in ("oods_repo", "dbb_repo")}
            for detector in REWRITTEN:
                path = rewrite(exposure, detector)
                await service.file_rewritten(
                    exposure.obsid,
                    detector,
                    str(path),
                    size=path.stat().st_size,
                    checksum=file_checksum(path),
                )
            requeued = await service.redeliver(exposure.obsid, REWRITTEN, REASON)
            await service.wait_until_idle(60)
        deliveries = ledger.deliveries(image=exposure.obsid)
        detectors = {d.name: d for d in ledger.detectors(exposure.obsid)}
    assert requeued == {"oods": REWRITTEN, "dbb": REWRITTEN}
    again = results["oods"][9:]
    assert sorted((f"{r.raft}_{r.sensor}", r.status_code, r.description) for r in again) == [
        (name, 0, f"{name} ingested into oods again: {REASON}") for name in REWRITTEN
    ]
    assert len(results["archived"]) == 1, "nothing changed the counts: imageArchived once"
    for repo in ("oods_repo", "dbb_repo"):
        after = raws(tmp_path / repo, exposure)
        assert {name: ids for name, (ids, _) in after.items()} == {
            name: ids for name, (ids, _) in before[repo].items()
        }
        assert {name for name, (_, target) in after.items() if target == "late target"} == set(REWRITTEN)
    assert all(d.stage is DeliveryStage.DONE for d in deliveries)
    assert {(d.item, d.destination) for d in deliveries if d.redelivery == REASON} == {
        (name, where) for name in REWRITTEN for where in ("oods", "dbb")
    }
    for name in REWRITTEN:
        assert detectors[name].checksum == file_checksum(exposure.files[name])
        copy = (
            tmp_path
            / "dbb"
            / exposure.instrument
            / str(exposure.day_obs)
            / exposure.obsid
            / exposure.files[name].name
        )
        assert file_checksum(copy) == detectors[name].checksum, "the destination has the new file"


async def test_a_redelivery_that_changes_an_outcome_writes_image_archived_again(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    exposure = exposure_factory()
    lost = exposure.files["R22_S11"]
    kept = lost.read_bytes()
    lost.unlink()  # its delivery finally fails everywhere: the image is archived with it missing
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations(tmp_path), results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(60)
            [incomplete] = results["archived"]
            lost.write_bytes(kept)
            await service.redeliver(exposure.obsid, ["R22_S11"], REASON)
            await service.wait_until_idle(60)
    assert (incomplete.archived_sensors, incomplete.missing_sensors, incomplete.status_code) == (
        8,
        "R22_S11",
        1,
    )
    [_, complete] = results["archived"]
    assert (complete.archived_sensors, complete.missing_sensors, complete.status_code) == (9, "", 0)
