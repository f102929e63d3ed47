"""archiverHealth: queue depths in configuration order."""

from __future__ import annotations

from lsst.ts.archiver.config_schema import MAX_DESTINATIONS
from lsst.ts.archiver.health import queue_depth_array


def test_queue_depths_are_in_configuration_order_and_padded() -> None:
    array = queue_depth_array({"dbb": 7, "oods": 2, "gone": 99}, ["oods", "dbb", "prompt"])
    assert array == [2, 7, 0] + [0] * (MAX_DESTINATIONS - 3)
