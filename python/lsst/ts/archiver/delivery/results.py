"""What the delivery service reports back (the CSC turns these into SAL events).

Field names follow the SAL events they feed (`ImageInOods` →
``imageInOODS``, `ImageArchived` → ``imageArchived``).
"""

from __future__ import annotations

__all__ = ["FileDelivered", "ImageArchived", "ImageDelivered", "ImageInOods", "ResultCallback"]

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..ledger import DeliveryStatus

T = TypeVar("T")

ResultCallback = Callable[[T], Awaitable[None] | None]
"""A callback taking one result; it may be a coroutine function."""


@dataclass(frozen=True)
class ImageInOods:
    """One detector's file is in (or finally failed to reach) an OODS destination.

    ``status_code``: 0 ok, 1 ingest failure, 2 metadata failure, 3 transfer
    failure (`~lsst.ts.archiver.ledger.DeliveryStatus`).
    """

    camera: str
    obsid: str
    raft: str
    sensor: str
    status_code: int
    description: str
    destination: str


@dataclass(frozen=True)
class ImageArchived:
    """An exposure is complete in the DBB, or what could not get there finally failed.

    ``status_code`` 0: every expected file is archived; 1: some are missing
    (``missing_sensors``, ':'-separated ``RNN_SNN``).
    """

    camera: str
    obsid: str
    expected_sensors: int
    archived_sensors: int
    missing_sensors: str
    status_code: int
    description: str


@dataclass(frozen=True)
class ImageDelivered:
    """Every file one destination takes of an exposure is there, or finally failed.

    One per destination per exposure (once more if an operator retry
    changes the outcome). ``status_code`` 0: every expected file is
    delivered (and ingested, if the destination ingests); 1: some are
    missing (``missing_sensors``, ':'-separated ``RNN_SNN``).
    """

    camera: str
    obsid: str
    destination: str
    role: str
    expected_sensors: int
    delivered_sensors: int
    missing_sensors: str
    status_code: int
    description: str


@dataclass(frozen=True)
class FileDelivered:
    """One item reached its final state at one destination (for telemetry and logs)."""

    camera: str
    obsid: str
    item: str
    destination: str
    role: str
    status: DeliveryStatus
    description: str
    uri: str | None
    attempts: int
