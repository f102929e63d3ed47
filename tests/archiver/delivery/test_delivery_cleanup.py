"""OODS cache cleanup: age, direct files, TAGGED and dataset-type exclusions, guards, lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import Exposure, RecordingHandler, destination, ledger_runner, make_service, submit
from lsst.daf.butler.registry import OrphanedRecordError

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.delivery import CleanupConfig, DestinationConfigError, OodsCleaner
from lsst.ts.archiver.ledger import Ledger

RUN = raw_run("LSSTComCam")


async def deliver_two_exposures(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> tuple[Exposure, Exposure, float]:
    """Ingest exposure 1, then (one second later) exposure 2; return the time between."""
    (tmp_path / "oods").mkdir()
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods"), butler={"repo": str(tmp_path / "repo")})
    ]
    old = exposure_factory(seq_num=1, detectors=["R22_S00", "R22_S01", "R22_S02"])
    new = exposure_factory(seq_num=2, detectors=["R22_S00", "R22_S01", "R22_S02"])
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, old, manifest=False)
            await service.wait_until_idle(60)
            time.sleep(1.1)
            between = time.time()
            time.sleep(1.1)
            await submit(service, new, manifest=False)
            await service.wait_until_idle(60)
    return old, new, between


def delivered(tmp_path: Path, exposure: Exposure) -> list[Path]:
    directory = tmp_path / "oods" / exposure.instrument / str(exposure.day_obs) / exposure.obsid
    return sorted(directory.glob("*")) if directory.exists() else []


def datasets(butler: Any) -> set[str]:
    refs = butler.query_datasets(
        "raw", collections=RUN, instrument="LSSTComCam", explain=False, with_dimension_records=True
    )
    return {ref.dataId.records["exposure"].obs_id for ref in refs}


async def test_cleanup_removes_only_old_direct_files_and_datasets(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    old, new, between = await deliver_two_exposures(tmp_path, exposure_factory, results)
    butler = open_repository(tmp_path / "repo")
    config = CleanupConfig(collections=(RUN,), older_than=100.0)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        cleaner = OodsCleaner(butler, config, ledger=ledger)
        dry = cleaner.run_once(dry_run=True, now=between + 100.0)
        assert dry.dry_run and len(dry.candidates) == 3 and all(c.direct for c in dry.candidates)
        assert all(old.obsid in c.uri for c in dry.candidates)
        assert len(delivered(tmp_path, old)) == 6 and datasets(butler) == {old.obsid, new.obsid}

        report = cleaner.run_once(now=between + 100.0)
    assert report.pruned == 3 and report.errors == ()
    assert len(report.removed_files) == 6  # files and their sidecars
    assert delivered(tmp_path, old) == [] and len(delivered(tmp_path, new)) == 6
    assert datasets(butler) == {new.obsid}
    butler.close()


async def test_cleanup_keeps_tagged_datasets_and_excluded_types(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    from lsst.daf.butler import CollectionType

    old, _, between = await deliver_two_exposures(tmp_path, exposure_factory, results)
    butler = open_repository(tmp_path / "repo")
    keep = butler.query_datasets(
        "raw", collections=RUN, instrument="LSSTComCam", where=f"exposure.obs_id = '{old.obsid}'"
    )[:1]
    butler.collections.register("keep/me", CollectionType.TAGGED)
    butler.registry.associate("keep/me", keep)
    excluded = OodsCleaner(
        butler, CleanupConfig(collections=(RUN,), older_than=100.0, exclude_dataset_types=("raw",))
    )
    assert excluded.run_once(now=between + 100.0).candidates == ()
    report = OodsCleaner(butler, CleanupConfig(collections=(RUN,), older_than=100.0)).run_once(
        now=between + 100.0
    )
    assert (report.pruned, report.kept_tagged) == (2, 1)
    left = delivered(tmp_path, old)
    assert [p.name for p in left if p.suffix == ".fits"] == [Path(butler.getURI(keep[0]).ospath).name]
    butler.close()


def test_cleanup_config_refuses_an_empty_or_wildcard_collection_list() -> None:
    with pytest.raises(DestinationConfigError, match="non-empty"):
        CleanupConfig(collections=(), older_than=10.0)
    with pytest.raises(DestinationConfigError, match="plain collection"):
        CleanupConfig(collections=("LSSTCam/raw/*",), older_than=10.0)
    with pytest.raises(DestinationConfigError, match="older_than"):
        CleanupConfig(collections=("LSSTCam/raw/all",), older_than=0.0)


async def test_missing_collection_is_skipped_and_only_one_cleaner_runs(
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
    recorded_log: tuple[logging.Logger, RecordingHandler],
) -> None:
    log, handler = recorded_log
    _, _, between = await deliver_two_exposures(tmp_path, exposure_factory, results)
    butler = open_repository(tmp_path / "repo")
    config = CleanupConfig(collections=("LATISS/raw/all", RUN), older_than=100.0)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        first = OodsCleaner(butler, config, ledger=ledger, holder="first")
        second = OodsCleaner(butler, config, ledger=ledger, holder="second", log=log)
        report = first.run_once(now=between + 100.0)
        assert report.skipped == ("collection LATISS/raw/all does not exist",) and report.pruned == 3
        blocked = second.run_once(now=between + 100.0)
        assert blocked.locked_by == "first" and blocked.pruned == 0
    butler.close()
    (skipped,) = handler.records  # the second cleaner's, on the logger it was given
    assert skipped.name == f"{log.name}.OodsCleaner"
    assert skipped.getMessage().startswith("OODS cleanup skipped: first is cleaning ")


class RefusingButler:
    """A real Butler whose registry refuses bulk prunes and the prune of one dataset
    (as when a dataset still has datastore records): the cleaner's fallback is tested."""

    def __init__(self, butler: Any, refused_detector: int) -> None:
        self._butler = butler
        self.refused_detector = refused_detector

    def __getattr__(self, name: str) -> Any:
        return getattr(self._butler, name)

    def pruneDatasets(self, refs: Any, **kwargs: Any) -> None:
        refs = list(refs)
        if len(refs) > 1 or refs[0].dataId["detector"] == self.refused_detector:
            raise OrphanedRecordError("One or more datasets is still present in one or more Datastores.")
        self._butler.pruneDatasets(refs, **kwargs)


async def test_a_dataset_the_registry_refuses_to_prune_does_not_keep_the_others(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    old, new, between = await deliver_two_exposures(tmp_path, exposure_factory, results)
    butler = open_repository(tmp_path / "repo")
    cleaner = OodsCleaner(
        RefusingButler(butler, refused_detector=1), CleanupConfig(collections=(RUN,), older_than=100.0)
    )
    report = cleaner.run_once(now=between + 100.0)
    assert report.pruned == 2
    assert len(report.errors) == 1 and "Cannot prune dataset" in report.errors[0]
    remaining = butler.query_datasets("raw", collections=RUN, instrument="LSSTComCam", explain=False)
    assert sorted((ref.dataId["exposure"] % 100, ref.dataId["detector"]) for ref in remaining) == [
        (1, 1),
        (2, 0),
        (2, 1),
        (2, 2),
    ]
    butler.close()
