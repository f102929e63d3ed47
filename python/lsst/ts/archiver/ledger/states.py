"""States and codes stored in the ledger (string values are what the database holds)."""

from __future__ import annotations

__all__ = ["MANIFEST_ITEM", "CaptureState", "DeliveryStage", "DeliveryStatus", "Trigger"]

import enum

MANIFEST_ITEM = "expectedSensors"
"""Delivery item name of an image's ``expectedSensors.json`` manifest
(every other item is a detector name ``RNN_SNN``)."""


class Trigger(enum.Enum):
    """Why an image is being archived."""

    LIVE = "live"
    """The camera's ``endOfImageTelemetry``."""
    COMMANDED = "commanded"
    """The ``archiveImage`` command."""
    CATCH_UP = "catch-up"
    """Found in the DAQ catalog but not archived (``catchUp``)."""
    STREAM = "stream"
    """A new image in the DAQ store's stream, without camera events (stream mode)."""


class CaptureState(enum.Enum):
    """State of one detector's raw file."""

    PENDING = "pending"
    """Expected; not written yet."""
    WRITTEN = "written"
    """The FITS file (and sidecar) is on the staging disk."""
    FAILED = "failed"
    """Capture finally failed; the reason is in ``error``."""
    FOUND = "found"
    """Not captured here: catch-up found the raw already at an archive
    destination (the Data Backbone) before this ledger knew the image."""


class DeliveryStage(enum.Enum):
    """Where one item stands at one destination.

    ``TRANSFER`` and ``INGEST`` are the next step to do; ``DONE`` and
    ``FAILED`` are final.
    """

    TRANSFER = "transfer"
    INGEST = "ingest"
    DONE = "done"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """True for ``DONE`` and ``FAILED``."""
        return self in (DeliveryStage.DONE, DeliveryStage.FAILED)


class DeliveryStatus(enum.IntEnum):
    """Outcome codes of a delivery; the ``imageInOODS`` status codes."""

    OK = 0
    INGEST_FAILURE = 1
    METADATA_FAILURE = 2
    TRANSFER_FAILURE = 3
