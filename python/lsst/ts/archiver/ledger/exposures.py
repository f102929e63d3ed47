"""`ExposureManager`: each destination's outcome of each exposure.

When every file a destination takes of an exposure is there or finally
failed, the Archiver writes that destination's ``imageDelivered`` event.
The outcome is recorded here first, so that the event is written once per
outcome across restarts and processes: `ExposureManager.record_outcome`
returns True only to the caller that recorded a new outcome, or a changed
one (an operator retry that delivered what had failed).
"""

from __future__ import annotations

__all__ = ["ExposureManager"]

import sqlalchemy as sa

from . import schema
from .database import LedgerDatabase, writer_time
from .records import ExposureDelivery

_outcome = schema.exposure_delivery


class ExposureManager:
    """Per-destination exposure outcomes in a shared `LedgerDatabase`.

    Parameters
    ----------
    database : `LedgerDatabase`
        The ledger's database.
    """

    def __init__(self, database: LedgerDatabase) -> None:
        self._db = database

    def record_outcome(self, outcome: ExposureDelivery, *, now: float | None = None) -> bool:
        """Record a destination's outcome of an exposure; True if it is new or changed.

        An outcome equal to the recorded one (same counts, missing
        detectors and status) changes nothing and returns False, so of
        several processes seeing the same outcome only one reports it.
        """
        now = writer_time(now)
        values = {
            "expected": outcome.expected,
            "delivered": outcome.delivered,
            "missing": ":".join(outcome.missing),
            "status": outcome.status,
            "description": outcome.description,
            "settled_at": now,
        }
        key = (_outcome.c.image == outcome.image, _outcome.c.destination == outcome.destination)
        with self._db.begin() as conn:
            inserted = conn.execute(
                self._db.insert_ignore(_outcome).returning(_outcome.c.image),
                {"image": outcome.image, "destination": outcome.destination, **values},
            ).first()
            if inserted is not None:
                return True
            changed = conn.execute(
                sa.update(_outcome)
                .where(
                    *key,
                    sa.or_(
                        _outcome.c.expected != outcome.expected,
                        _outcome.c.delivered != outcome.delivered,
                        _outcome.c.missing != values["missing"],
                        _outcome.c.status != outcome.status,
                    ),
                )
                .values(**values)
            )
        return bool(changed.rowcount)

    def outcomes(self, image: str) -> list[ExposureDelivery]:
        """The recorded outcomes of an exposure, by destination name."""
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(_outcome).where(_outcome.c.image == image).order_by(_outcome.c.destination)
            ).mappings()
            return [
                ExposureDelivery(
                    image=row["image"],
                    destination=row["destination"],
                    expected=int(row["expected"]),
                    delivered=int(row["delivered"]),
                    missing=tuple(name for name in row["missing"].split(":") if name),
                    status=int(row["status"]),
                    description=row["description"],
                    settled_at=float(row["settled_at"]),
                )
                for row in rows
            ]
