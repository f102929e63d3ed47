"""The shared database (`LedgerDatabase`): opening, schema version, upgrade, errors."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from unittest.mock import ANY

import pytest
import sqlalchemy as sa
from ledger_test_support import IMAGE, register

from lsst.ts.archiver.ledger import (
    SCHEMA_VERSION,
    CaptureMeasurements,
    CaptureState,
    DeliveryStage,
    ExposureDelivery,
    Ledger,
    LedgerError,
    LedgerSchemaError,
    normalize_url,
)
from lsst.ts.archiver.ledger import schema as ledger_schema


def make_version_1_ledger(url: str) -> None:
    """Write a ledger as a version-1 ts_archiver did, with one image in progress.

    ``detector`` has the version-1 columns only (version 2 added the
    others); ``image`` and ``delivery`` lack the columns version 3 added;
    there is no ``worker`` table (version 4).
    """
    v1 = sa.MetaData()
    for table in (
        ledger_schema.ledger_schema,
        ledger_schema.image,
        ledger_schema.delivery,
        ledger_schema.lock,
    ):
        table.to_metadata(v1)
    detector = sa.Table(
        "detector",
        v1,
        sa.Column("image", sa.String(64), sa.ForeignKey("image.name", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("path", sa.Text),
        sa.Column("size", sa.BigInteger),
        sa.Column("checksum", sa.String(80)),
        sa.Column("error", sa.Text),
        sa.Column("written_at", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    engine = sa.create_engine(normalize_url(url))
    try:
        if engine.dialect.name == "sqlite":
            # As a version-1 ts_archiver did: its SQLite ledgers were in WAL mode
            # (switching a database to WAL while others open it can fail at once).
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        with engine.begin() as conn:
            v1.create_all(conn)
            for column in ledger_schema.UPGRADES[2]:
                assert isinstance(column, sa.Column)
                conn.exec_driver_sql(f"ALTER TABLE {column.table.name} DROP COLUMN {column.name}")
            conn.execute(
                v1.tables["ledger_schema"].insert(),
                {"name": ledger_schema.SCHEMA_NAME, "version": 1, "created_at": 0.0},
            )
            conn.execute(
                v1.tables["image"].insert(),
                {
                    "name": IMAGE,
                    "camera": "LSSTCam",
                    "day_obs": 20261123,
                    "trigger": "live",
                    "priority": 0,
                    "registered_at": 100.0,
                },
            )
            written = {"path": "/staging/a.fits", "size": 7, "checksum": "md5:ab", "written_at": 101.0}
            for name, number, state, attempts, values in (
                ("R22_S11", 94, "written", 1, written),
                ("R22_S12", 95, "pending", 0, {}),
            ):
                conn.execute(
                    detector.insert(),
                    {"image": IMAGE, "name": name, "number": number, "state": state, "attempts": attempts}
                    | {"updated_at": 100.0}
                    | values,
                )
            conn.execute(
                v1.tables["delivery"].insert(),
                {
                    "image": IMAGE,
                    "item": "R22_S11",
                    "destination": "dbb",
                    "source": "/staging/a.fits",
                    "stage": "transfer",
                    "attempts": 0,
                    "next_attempt_at": 101.0,
                    "enqueued_at": 101.0,
                },
            )
    finally:
        engine.dispose()


def stored_version_and_columns(url: str, table: str = "detector") -> tuple[int, set[str]]:
    """Schema version row and the columns of ``table``, read past the ledger code."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version FROM ledger_schema")).scalar_one()
            columns = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    finally:
        engine.dispose()
    return version, columns


def test_ledger_survives_reopen(ledger_url: str) -> None:
    with Ledger(ledger_url) as first:
        register(first)
        first.enqueue(IMAGE, "R22_S11", ["dbb"], "/a")
    with Ledger(ledger_url) as second:
        assert [d.item for d in second.unfinished_deliveries("dbb")] == ["R22_S11"]


def test_schema_version_mismatch_is_a_clear_error(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        register(ledger)
    engine = sa.create_engine(Ledger(ledger_url).url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE ledger_schema SET version = 99"))
    engine.dispose()
    with pytest.raises(LedgerSchemaError, match=f"schema version 99.*needs {SCHEMA_VERSION}"):
        Ledger(ledger_url)


def test_opening_without_create_refuses_an_empty_database(ledger_url: str) -> None:
    with pytest.raises(LedgerSchemaError, match="no ts_archiver ledger"):
        Ledger(ledger_url, create=False)


def test_a_version_1_ledger_is_upgraded_in_place_and_its_rows_stay_readable(ledger_url: str) -> None:
    make_version_1_ledger(ledger_url)
    with Ledger(ledger_url) as ledger:
        written, pending = ledger.detectors(IMAGE)
        assert (written.name, written.state, written.path, written.size) == (
            "R22_S11",
            CaptureState.WRITTEN,
            "/staging/a.fits",
            7,
        )
        assert (written.measurements, written.status) == (None, None)
        assert pending.state is CaptureState.PENDING
        assert [(d.item, d.stage) for d in ledger.deliveries(image=IMAGE)] == [
            ("R22_S11", DeliveryStage.TRANSFER)
        ]
        measured = CaptureMeasurements(retrieval_time=2.0, write_time=1.0, median_signal=5.0, noise=3.0)
        ledger.record_capture(IMAGE, "R22_S12", path="/staging/b.fits", measurements=measured)
        assert ledger.detectors(IMAGE)[1].measurements == measured
        assert ledger.image(IMAGE).captured_at is not None
        assert (ledger.image(IMAGE).header_note, ledger.deliveries(image=IMAGE)[0].redelivery) == (None, None)
    version, columns = stored_version_and_columns(ledger_url)
    assert version == SCHEMA_VERSION == 5
    assert {"status", "retrieval_time", "write_time", "median_signal", "noise"} <= columns
    assert {"header_note", "header_pending", "image_type"} <= stored_version_and_columns(ledger_url, "image")[
        1
    ]
    assert {"destination", "missing", "status"} <= stored_version_and_columns(
        ledger_url, "exposure_delivery"
    )[1]
    assert "redelivery" in stored_version_and_columns(ledger_url, "delivery")[1]
    assert {"name", "role", "expires_at"} <= stored_version_and_columns(ledger_url, "worker")[1]
    with Ledger(ledger_url, create=False) as reopened:  # already upgraded: opens as is
        assert reopened.detectors(IMAGE)[1].status == 0
        assert reopened.image(IMAGE).image_type is None
        reopened.workers.beat("w", host="h", pid=1, role="delivery", state="idle", ttl=5.0)
        assert [w.name for w in reopened.workers.live()] == ["w"]
        outcome = ExposureDelivery(IMAGE, "oods", 2, 1, ("R22_S12",), 1, "1 of 2")
        assert reopened.record_outcome(outcome) and not reopened.record_outcome(outcome)
        assert reopened.exposures.outcomes(IMAGE) == [dataclasses.replace(outcome, settled_at=ANY)]


def test_processes_opening_one_version_1_ledger_at_once_upgrade_it_once(
    ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_version_1_ledger(ledger_url)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_ledger() -> None:
        barrier.wait()
        try:
            with Ledger(ledger_url) as ledger:
                assert len(ledger.detectors(IMAGE)) == 2
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)

    with caplog.at_level(logging.INFO, logger="lsst.ts.archiver.ledger"):
        threads = [threading.Thread(target=open_ledger) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    upgrades = [r for r in caplog.records if f"from schema version 1 to {SCHEMA_VERSION}" in r.getMessage()]
    assert len(upgrades) == 1
    assert stored_version_and_columns(ledger_url)[0] == SCHEMA_VERSION


def test_a_failed_upgrade_leaves_the_version_1_ledger_as_it_was(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_version_1_ledger(ledger_url)
    # A NOT NULL column cannot be added to a table with rows: the second step fails.
    impossible = sa.Table("detector", sa.MetaData(), sa.Column("impossible", sa.Integer, nullable=False))
    monkeypatch.setitem(ledger_schema.UPGRADES, 1, (ledger_schema.detector.c.status, impossible.c.impossible))
    with pytest.raises(
        LedgerSchemaError, match=f"from schema version 1 to {SCHEMA_VERSION}.*left at version 1"
    ):
        Ledger(ledger_url)
    version, columns = stored_version_and_columns(ledger_url)
    assert (version, "status" in columns) == (1, False)
    monkeypatch.undo()
    with Ledger(ledger_url) as ledger:
        assert [d.name for d in ledger.detectors(IMAGE)] == ["R22_S11", "R22_S12"]


def test_an_unreachable_ledger_is_a_ledger_error_that_hides_the_password() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        LedgerError, match=f"Cannot open the ledger at .*archiver:\\*\\*\\*@127.0.0.1:{port}"
    ) as caught:
        Ledger(f"postgresql://archiver:s3cret@127.0.0.1:{port}/ledger")
    assert "s3cret" not in str(caught.value)
