"""`ArchiveInventory`: which raws real Butler repositories hold, by obsid."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsst.ts.archiver.butler import RawIngester, create_repository
from lsst.ts.archiver.camera import LSST_COMCAM
from lsst.ts.archiver.catch_up import ArchiveInventory, InventoryUnavailableError
from lsst.ts.archiver.delivery import DestinationConfig
from lsst.ts.archiver.testing import make_primary_header, write_raw_file

DAY_OBS = 20261123


def repository(root: Path, held: dict[int, list[str]]) -> Path:
    """A ComCam repository holding the raws of ``seq_num -> detectors``."""
    butler = create_repository(root, instruments=["LSSTComCam"])
    raws = root.parent / f"{root.name}-raws"
    raws.mkdir()
    try:
        paths = [
            write_raw_file(
                raws,
                make_primary_header("LSSTComCam", day_obs=DAY_OBS, seq_num=seq_num, detector=detector),
                seed=seq_num,
            )
            for seq_num, detectors in held.items()
            for detector in detectors
        ]
        assert RawIngester(butler).ingest(paths).ok
    finally:
        butler.close()
    return root


def dbb(name: str, repo: Path, **extra: object) -> DestinationConfig:
    return DestinationConfig.from_dict(
        {
            "name": name,
            "role": "dbb",
            "target": str(repo.parent / f"{name}-files"),
            "butler": {"repo": str(repo)},
            **extra,
        }
    )


def obsid(seq_num: int) -> str:
    return f"CC_O_{DAY_OBS}_{seq_num:06d}"


def test_the_raws_every_archive_destination_holds_are_found_by_obsid(tmp_path: Path) -> None:
    first = repository(tmp_path / "first", {1: ["R22_S00", "R22_S01"], 2: ["R22_S00"], 4: ["R22_S11"]})
    second = repository(tmp_path / "second", {1: ["R22_S00", "R22_S01"], 2: ["R22_S00", "R22_S02"]})
    inventory = ArchiveInventory([dbb("dbb", first), dbb("dbb2", second)], LSST_COMCAM)
    try:
        held = inventory.held([obsid(1), obsid(2), obsid(3), obsid(4)])
    finally:
        inventory.close()
    # Image 4 is in the first only: not held by "the archive".
    assert held == {obsid(1): {"R22_S00", "R22_S01"}, obsid(2): {"R22_S00"}}
    assert inventory.names == ("dbb", "dbb2")


def test_a_destination_taking_some_detectors_lacks_none_of_the_others(tmp_path: Path) -> None:
    repo = repository(tmp_path / "dbb", {1: ["R22_S11"]})
    inventory = ArchiveInventory([dbb("dbb", repo, detectors=["R22_S11"])], LSST_COMCAM)
    try:
        held = inventory.held([obsid(1), obsid(2)])
    finally:
        inventory.close()
    everything = {d.name for d in LSST_COMCAM.detectors}
    assert held is not None
    assert held[obsid(1)] == everything  # complete: the one detector it takes is there
    assert held[obsid(2)] == everything - {"R22_S11"}  # the one it takes is missing


def test_destinations_without_a_butler_are_not_asked(tmp_path: Path) -> None:
    plain = DestinationConfig.from_dict({"name": "copy", "role": "dbb", "target": str(tmp_path)})
    assert ArchiveInventory([plain], LSST_COMCAM).held([obsid(1)]) is None


def test_a_registry_that_cannot_be_opened_is_an_unavailable_inventory(tmp_path: Path) -> None:
    inventory = ArchiveInventory([dbb("dbb", tmp_path / "no-such-repo")], LSST_COMCAM)
    with pytest.raises(InventoryUnavailableError, match="Butler registry of dbb"):
        inventory.held([obsid(1)])
