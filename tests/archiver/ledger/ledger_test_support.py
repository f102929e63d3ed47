"""Shared names of the ledger tests: one image with three expected detectors."""

from __future__ import annotations

from lsst.ts.archiver.ledger import Ledger, Trigger

IMAGE = "MC_O_20261123_000042"
EXPECTED = {"R22_S11": 94, "R22_S12": 95, "R00_SG0": 189}


def register(ledger: Ledger, name: str = IMAGE, now: float = 1000.0) -> bool:
    """Register ``name`` with the `EXPECTED` detectors."""
    return ledger.register_image(
        name, camera="LSSTCam", day_obs=20261123, expected=EXPECTED, trigger=Trigger.LIVE, now=now
    )
