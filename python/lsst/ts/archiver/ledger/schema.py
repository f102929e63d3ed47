"""Tables of the ledger (SQLAlchemy Core) and the schema version.

Times are Unix seconds (float, UTC clock of the writer). Names are the
domain's: an image is an obsid, a detector is ``RNN_SNN``, an item is a
detector name or `~lsst.ts.archiver.ledger.MANIFEST_ITEM`.
"""

from __future__ import annotations

__all__ = ["SCHEMA_NAME", "SCHEMA_VERSION", "UPGRADES", "metadata"]

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

SCHEMA_NAME = "ts_archiver.ledger"
"""Key of the row in ``ledger_schema`` that this code owns."""

SCHEMA_VERSION = 5
"""Schema version this code writes and reads. Bump it with every table change
(and say in `UPGRADES` how the previous version is upgraded)."""

metadata = sa.MetaData()

ledger_schema = sa.Table(
    "ledger_schema",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

image = sa.Table(
    "image",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("camera", sa.String(32), nullable=False),
    sa.Column("day_obs", sa.Integer, nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("header_source", sa.String(32)),
    sa.Column("priority", sa.Integer, nullable=False, default=0),
    sa.Column("manifest_path", sa.Text),
    sa.Column("registered_at", sa.Float, nullable=False),
    sa.Column("captured_at", sa.Float),
    sa.Column("archived_at", sa.Float),
    sa.Column("archive_status", sa.Integer),
    sa.Column("archive_description", sa.Text),
    # Version 3: what became of a Header Service header that arrived after the
    # files were written (applied or not, and why), and the URL of one being
    # applied now (the files are being rewritten; a restart finishes the work).
    sa.Column("header_note", sa.Text),
    sa.Column("header_pending", sa.Text),
    # Version 5: the camera's imageType (OBJECT, BIAS ...) if known when the
    # image was registered; destinations may take only some types.
    sa.Column("image_type", sa.String(16)),
    sa.Index("ix_image_day_obs", "day_obs"),
    sa.Index("ix_image_archived_at", "archived_at"),
)

detector = sa.Table(
    "detector",
    metadata,
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
    # Version 2: what capture recorded, for focalPlaneCapture after a restart:
    # the capture status code and the CaptureMeasurements (columns named as its fields).
    sa.Column("status", sa.Integer),
    sa.Column("retrieval_time", sa.Float),
    sa.Column("write_time", sa.Float),
    sa.Column("median_signal", sa.Float),
    sa.Column("noise", sa.Float),
)

delivery = sa.Table(
    "delivery",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("image", sa.String(64), sa.ForeignKey("image.name", ondelete="CASCADE"), nullable=False),
    sa.Column("item", sa.String(32), nullable=False),
    sa.Column("destination", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("claimed_by", sa.String(128)),
    sa.Column("lease_until", sa.Float),
    sa.Column("enqueued_at", sa.Float, nullable=False),
    sa.Column("transfer_started_at", sa.Float),
    sa.Column("transferred_at", sa.Float),
    sa.Column("ingested_at", sa.Float),
    sa.Column("done_at", sa.Float),
    sa.Column("failed_at", sa.Float),
    sa.Column("remote_uri", sa.Text),
    sa.Column("remote_size", sa.BigInteger),
    sa.Column("remote_checksum", sa.String(80)),
    # Version 3: why the item was queued again after it had been delivered
    # (its file was rewritten); its ingest then replaces the Butler dataset.
    sa.Column("redelivery", sa.Text),
    # Version 4: the worker that settled the item (done or finally failed),
    # so that the Archiver reports the items other processes settled.
    sa.Column("settled_by", sa.String(128)),
    sa.UniqueConstraint("image", "item", "destination", name="uq_delivery_item"),
    sa.Index("ix_delivery_queue", "destination", "stage", "next_attempt_at"),
    # Version 4: the Archiver reads the items settled recently (by other workers) every second.
    sa.Index("ix_delivery_done_at", "done_at"),
    sa.Index("ix_delivery_failed_at", "failed_at"),
)

lock = sa.Table(
    "lock",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Version 4: the processes that work for the Archiver outside the CSC
# (``run_archiver_worker --role delivery``) and their last heartbeat; a row
# whose ``expires_at`` has passed is a lost worker.
worker = sa.Table(
    "worker",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("state", sa.String(64), nullable=False),
    sa.Column("tasks_done", sa.Integer, nullable=False, default=0),
    sa.Column("tasks_failed", sa.Integer, nullable=False, default=0),
    sa.Column("joined_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Version 5: each destination's outcome of each exposure (what its
# imageDelivered event said), so the event is written once per outcome.
exposure_delivery = sa.Table(
    "exposure_delivery",
    metadata,
    sa.Column("image", sa.String(64), sa.ForeignKey("image.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("destination", sa.String(64), primary_key=True),
    sa.Column("expected", sa.Integer, nullable=False),
    sa.Column("delivered", sa.Integer, nullable=False),
    sa.Column("missing", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("settled_at", sa.Float, nullable=False),
)

UPGRADES: Mapping[int, tuple[sa.Column[Any] | sa.Table | sa.Index, ...]] = {
    1: (
        detector.c.status,
        detector.c.retrieval_time,
        detector.c.write_time,
        detector.c.median_signal,
        detector.c.noise,
    ),
    2: (image.c.header_note, image.c.header_pending, delivery.c.redelivery),
    3: (
        worker,
        delivery.c.settled_by,
        *(
            index
            for index in delivery.indexes
            if index.name in ("ix_delivery_done_at", "ix_delivery_failed_at")
        ),
    ),
    4: (image.c.image_type, exposure_delivery),
}
"""Nullable columns (``ALTER TABLE ... ADD COLUMN``), new tables and new
indexes (``CREATE TABLE``/``CREATE INDEX``) that upgrade a ledger of version ``v`` to ``v + 1``, for
every version from the oldest this code can upgrade to ``SCHEMA_VERSION - 1``.

An older ledger is upgraded in place, in one transaction, when it is opened.
"""
