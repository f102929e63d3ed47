"""Creating and opening repositories."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from lsst.daf.butler import Butler, DatasetType
from lsst.resources import ResourcePath

from lsst.ts.archiver.butler import (
    RAW_STORAGE_CLASS,
    RepositoryError,
    create_repository,
    ensure_raw_dataset_type,
    open_or_create_repository,
    open_repository,
)
from lsst.ts.archiver.testing import TemporaryPostgres


def test_new_repository_has_raw_type_runs_and_instruments(make_repo: Callable[..., Butler]) -> None:
    butler = make_repo("LSSTCam", "LATISS")
    raw = butler.get_dataset_type("raw")
    assert raw.storageClass_name == RAW_STORAGE_CLASS
    assert set(raw.dimensions.required) == {"instrument", "detector", "exposure"}
    assert {"LSSTCam/raw/all", "LATISS/raw/all"} <= set(butler.collections.query("*"))
    assert {r.name for r in butler.registry.queryDimensionRecords("instrument")} == {"LSSTCam", "LATISS"}


def test_repository_config_names_the_storage_class_and_formatter(tmp_path: Path) -> None:
    create_repository(tmp_path / "repo").close()
    config = yaml.safe_load((tmp_path / "repo" / "butler.yaml").read_text())
    assert config["storageClasses"][RAW_STORAGE_CLASS]["pytype"] == "astropy.io.fits.HDUList"
    assert (
        config["datastore"]["formatters"][RAW_STORAGE_CLASS]
        == "lsst.ts.archiver.butler.formatter.RawFitsFormatter"
    )


def test_creating_over_an_existing_repository_is_refused(tmp_path: Path) -> None:
    create_repository(tmp_path / "repo").close()
    with pytest.raises(RepositoryError, match="already exists"):
        create_repository(tmp_path / "repo")


def test_open_or_create_opens_what_exists_and_registers_instruments(tmp_path: Path) -> None:
    create_repository(tmp_path / "repo", instruments=["LATISS"]).close()
    with open_or_create_repository(tmp_path / "repo", instruments=["LSSTComCam"]) as butler:
        assert {r.name for r in butler.registry.queryDimensionRecords("instrument")} == {
            "LATISS",
            "LSSTComCam",
        }
    with open_or_create_repository(tmp_path / "new", instruments=["LATISS"]) as butler:
        assert butler.collections.get_info("LATISS/raw/all").name == "LATISS/raw/all"


def test_a_creation_that_dies_half_way_leaves_no_repository_to_trip_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Butler.makeRepo

    def dies_after_the_config(root: object, **kwargs: object) -> object:
        # What a SIGKILL inside makeRepo leaves: butler.yaml, no registry tables.
        directory = Path(ResourcePath(root).ospath)
        directory.mkdir(parents=True)
        (directory / "butler.yaml").write_text("registry: {}\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(Butler, "makeRepo", dies_after_the_config)
    root = tmp_path / "repo-dbb"
    with pytest.raises(KeyboardInterrupt):
        open_or_create_repository(root, instruments=["LSSTComCam"])
    assert list(root.iterdir()) == []  # no butler.yaml (nor anything else) left in the root
    monkeypatch.setattr(Butler, "makeRepo", real)
    butler = open_or_create_repository(root, instruments=["LSSTComCam"])
    try:
        assert list(butler.registry.queryDimensionRecords("instrument")) != []
    finally:
        butler.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo-dbb"]  # nothing outside the root


def test_opening_a_missing_repository_names_the_location(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="nowhere"):
        open_repository(tmp_path / "nowhere")


def test_namespace_without_postgresql_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="namespace"):
        create_repository(tmp_path / "repo", namespace="x")


def test_raw_defined_with_another_storage_class_is_reported(tmp_path: Path) -> None:
    Butler.makeRepo(str(tmp_path / "repo"))
    with Butler.from_config(str(tmp_path / "repo"), writeable=True) as butler:
        butler.registry.registerDatasetType(
            DatasetType(
                "raw",
                ("instrument", "detector", "exposure"),
                "StructuredDataDict",
                universe=butler.dimensions,
            )
        )
        with pytest.raises(RepositoryError, match="separate repository"):
            ensure_raw_dataset_type(butler)


@pytest.mark.integration  # the PostgreSQL server
def test_postgresql_repositories_share_a_database_through_namespaces(
    postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    url = postgres_database()
    with create_repository(tmp_path / "a", db=url, namespace="ns_a", instruments=["LATISS"]) as first:
        with create_repository(tmp_path / "b", db=url, namespace="ns_b", instruments=["LSSTCam"]) as second:
            assert [r.name for r in first.registry.queryDimensionRecords("instrument")] == ["LATISS"]
            assert [r.name for r in second.registry.queryDimensionRecords("instrument")] == ["LSSTCam"]
    with open_repository(tmp_path / "a", writeable=False) as again:
        assert again.registry.queryDimensionRecords("detector", instrument="LATISS").count() == 1


@pytest.mark.integration  # the PostgreSQL server
def test_postgresql_database_without_btree_gist_gets_it(
    postgres_server: TemporaryPostgres, tmp_path: Path
) -> None:
    import sqlalchemy

    bare = f"bare_{secrets.token_hex(6)}"
    engine = sqlalchemy.create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{bare}"'))
    engine.dispose()
    with create_repository(tmp_path / "repo", db=postgres_server.url(bare), instruments=["LATISS"]) as butler:
        assert butler.registry.queryDimensionRecords("detector", instrument="LATISS").count() == 1
