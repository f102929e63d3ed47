"""Create or open a Butler repository ready for raw ingest.

A repository made here describes itself: its ``butler.yaml`` carries the raw
storage classes and the formatter (`storage_config`), so any client with
ts_archiver installed can ``butler.get("raw", ...)`` without environment
variables. The registry is SQLite (``<root>/gen3.sqlite3``) by default, or
PostgreSQL when ``db`` is given. PostgreSQL needs (reference butler.md §2.2):

* the ``btree_gist`` extension in the database (`create_repository` creates
  it when the role may, e.g. as the database owner);
* a role that owns the database or schema (PostgreSQL 15 forbids creating
  objects in ``public`` otherwise);
* one ``namespace`` (schema) per repository when several share a database;
* credentials in ``~/.lsst/db-auth.yaml`` (mode 0600) or
  ``$LSST_DB_AUTH_CREDENTIALS`` rather than in the URL;
* a ``postgresql://`` URL uses psycopg 3 (installed with ts_archiver).
"""

from __future__ import annotations

__all__ = [
    "create_repository",
    "ensure_raw_dataset_type",
    "open_repository",
    "open_or_create_repository",
]

import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterable
from typing import Any

from lsst.daf.butler import Butler, CollectionType, Config, DatasetType
from lsst.daf.butler.registry import ConflictingDefinitionError
from lsst.resources import ResourcePath, ResourcePathExpression

from .errors import RepositoryError
from .instrument import register_instrument
from .storage import RAW_DATASET_TYPE, RAW_DIMENSIONS, RAW_STORAGE_CLASS, raw_run, storage_config


def _repository_config(db: str | None, namespace: str | None) -> Config:
    config: dict[str, Any] = storage_config()
    if db is not None:
        registry: dict[str, Any] = {"db": db}
        if namespace is not None:
            registry["namespace"] = namespace
        config["registry"] = registry
    elif namespace is not None:
        raise RepositoryError("A registry namespace needs a PostgreSQL db URL; SQLite has no schemas")
    return Config(config)


def _ensure_btree_gist(db: str) -> None:
    """Create btree_gist if the role may; otherwise leave the error to makeRepo."""
    if not db.startswith("postgresql"):
        return
    import sqlalchemy
    from lsst.daf.butler.registry import RegistryConfig
    from lsst.daf.butler.registry.connectionString import ConnectionStringFactory

    url = ConnectionStringFactory.fromConfig(RegistryConfig({"db": db}))
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
    except sqlalchemy.exc.SQLAlchemyError:
        pass
    finally:
        engine.dispose()


def ensure_raw_dataset_type(butler: Butler, instruments: Iterable[str] = ()) -> DatasetType:
    """Register the ``raw`` dataset type and the instruments' raw RUNs (idempotent).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        Writeable Butler.
    instruments : `~collections.abc.Iterable` [`str`], optional
        Instruments whose ``<instrument>/raw/all`` RUN to register.

    Returns
    -------
    dataset_type : `lsst.daf.butler.DatasetType`
        The ``raw`` dataset type.

    Raises
    ------
    RepositoryError
        Raised if the repository already defines ``raw`` differently (e.g.
        with the Science Pipelines' ``Exposure`` storage class).
    """
    dataset_type = DatasetType(
        RAW_DATASET_TYPE, RAW_DIMENSIONS, RAW_STORAGE_CLASS, universe=butler.dimensions
    )
    try:
        butler.registry.registerDatasetType(dataset_type)
    except ConflictingDefinitionError as e:
        raise RepositoryError(
            f"The repository defines dataset type {RAW_DATASET_TYPE!r} differently ({e}); ts_archiver needs "
            f"storage class {RAW_STORAGE_CLASS}: use a separate repository"
        ) from e
    for instrument in instruments:
        butler.collections.register(raw_run(instrument), CollectionType.RUN)
    return dataset_type


def create_repository(
    root: ResourcePathExpression,
    *,
    db: str | None = None,
    namespace: str | None = None,
    instruments: Iterable[str] = (),
) -> Butler:
    """Create a repository and return a writeable Butler for it.

    Parameters
    ----------
    root : `str`, `os.PathLike` or `lsst.resources.ResourcePath`
        Repository root (``butler.yaml`` and, for SQLite, the database go
        there; ingested ``copy`` files go below it).
    db : `str` or `None`, optional
        SQLAlchemy URL of a PostgreSQL registry
        (``postgresql://user@host:port/database``); `None` for SQLite.
    namespace : `str` or `None`, optional
        PostgreSQL schema of this repository.
    instruments : `~collections.abc.Iterable` [`str`], optional
        Instruments to register right away (``LATISS``, ``LSSTComCam``,
        ``LSSTCam``), with their raw RUN collections.

    Returns
    -------
    butler : `lsst.daf.butler.Butler`
        Writeable Butler.

    Raises
    ------
    RepositoryError
        Raised if a repository already exists there or the registry cannot
        be created; the message says why.
    """
    root_uri = ResourcePath(root, forceDirectory=True)
    if root_uri.join("butler.yaml").exists():
        raise RepositoryError(f"A repository already exists at {root_uri}; open it with open_repository")
    config = _repository_config(db, namespace)
    if db is not None:
        _ensure_btree_gist(db)
    try:
        if root_uri.isLocal and db is None:
            _make_local_repo(root_uri, config)
        else:
            Butler.makeRepo(root_uri, config=config)
    except Exception as e:
        raise RepositoryError(
            f"Cannot create a repository at {root_uri} (registry {db or 'SQLite'}): {e}"
        ) from e
    butler = Butler.from_config(root_uri, writeable=True)
    instruments = tuple(instruments)
    for instrument in instruments:
        register_instrument(butler, instrument)
    ensure_raw_dataset_type(butler, instruments)
    return butler


def _make_local_repo(root_uri: ResourcePath, config: Config) -> None:
    """Create a local SQLite repository so that ``butler.yaml`` appears last.

    ``makeRepo`` runs in a scratch directory inside the root
    (``.butler-create-*``); its files are then moved into the root, the
    registry database first and ``butler.yaml`` last. A process killed while
    ``makeRepo`` runs would otherwise leave a ``butler.yaml`` without registry
    tables, which every later open refuses; killed here, it leaves no
    ``butler.yaml``, so the next attempt creates the repository again (a
    killed attempt's scratch directory stays inside the root, harmless).
    """
    final = pathlib.Path(root_uri.ospath)
    final.mkdir(parents=True, exist_ok=True)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix=".butler-create-", dir=final))
    try:
        made = scratch / "repo"
        Butler.makeRepo(ResourcePath(made, forceDirectory=True), config=config)
        if (final / "butler.yaml").exists():
            return  # another process created it meanwhile
        for entry in sorted(made.iterdir(), key=lambda path: path.name == "butler.yaml"):
            os.rename(entry, final / entry.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def open_repository(root: ResourcePathExpression, *, writeable: bool = True) -> Butler:
    """Open an existing repository.

    Parameters
    ----------
    root : `str`, `os.PathLike` or `lsst.resources.ResourcePath`
        Repository root or its ``butler.yaml``.
    writeable : `bool`, optional
        Open for writing (ingest) or read only.

    Raises
    ------
    RepositoryError
        Raised if there is no repository there or its registry is
        unreachable.
    """
    try:
        return Butler.from_config(
            os.fspath(root) if isinstance(root, os.PathLike) else root, writeable=writeable
        )
    except Exception as e:
        raise RepositoryError(f"Cannot open the Butler repository at {root}: {e}") from e


def open_or_create_repository(
    root: ResourcePathExpression,
    *,
    db: str | None = None,
    namespace: str | None = None,
    instruments: Iterable[str] = (),
) -> Butler:
    """Open the repository at ``root``, creating it first if there is none.

    The instruments are registered either way (idempotent). Parameters are
    those of `create_repository`.
    """
    root_uri = ResourcePath(root, forceDirectory=True)
    if not root_uri.join("butler.yaml").exists():
        return create_repository(root_uri, db=db, namespace=namespace, instruments=instruments)
    butler = open_repository(root_uri, writeable=True)
    instruments = tuple(instruments)
    for instrument in instruments:
        register_instrument(butler, instrument)
    ensure_raw_dataset_type(butler, instruments)
    return butler
