"""Instrument, physical filter and detector records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import (
    UnknownInstrumentError,
    band_for,
    detector_records,
    known_physical_filters,
    register_instrument,
)
from lsst.ts.archiver.camera.filters import COMCAM_FILTER_BANDS


def test_lsstcam_detectors_match_obs_lsst_numbering_and_purposes() -> None:
    records = detector_records("LSSTCam")
    assert [r["id"] for r in records] == list(range(205))
    by_name = {r["full_name"]: r for r in records}
    assert by_name["R22_S11"]["id"] == 94 and by_name["R10_S02"]["id"] == 29
    assert by_name["R00_SG0"]["id"] == 189 and by_name["R44_SW1"]["id"] == 204
    assert Counter(r["purpose"] for r in records) == {"SCIENCE": 189, "GUIDER": 8, "WAVEFRONT": 8}
    assert by_name["R22_S11"]["raft"] == "R22" and by_name["R22_S11"]["name_in_raft"] == "S11"


def test_comcam_and_latiss_detectors() -> None:
    assert [r["full_name"] for r in detector_records("LSSTComCam")][:3] == ["R22_S00", "R22_S01", "R22_S02"]
    assert detector_records("LATISS") == [
        {
            "instrument": "LATISS",
            "id": 0,
            "full_name": "RXX_S00",
            "raft": "RXX",
            "name_in_raft": "S00",
            "purpose": "SCIENCE",
        }
    ]


@pytest.mark.parametrize(
    ("instrument", "physical_filter", "band"),
    [
        ("LSSTCam", "r_57", "r"),
        ("LSSTCam", "y_10", "y"),
        ("LSSTCam", "empty", "white"),
        ("LSSTCam", "unknown", "unknown"),
        ("LSSTComCam", "u_02", "u"),
        ("LSSTComCam", "u_05", "u"),
        ("LSSTComCam", "g_07", "g"),
        ("LSSTComCam", "empty", "white"),
        ("LSSTComCam", "unknown", "unknown"),
        ("LATISS", "SDSSi_65mm~empty", "i"),
        ("LATISS", "empty~holo4_003", "white"),
    ],
)
def test_band_of_physical_filter(instrument: str, physical_filter: str, band: str) -> None:
    assert band_for(instrument, physical_filter) == band


def test_comcam_registers_obs_lsst_comcam_filters() -> None:
    assert set(known_physical_filters("LSSTComCam")) == set(COMCAM_FILTER_BANDS)
    assert {"u_05", "u_06", "g_07", "z_02"} <= set(known_physical_filters("LSSTComCam"))
    assert "pinhole" not in known_physical_filters("LSSTComCam")


def test_registration_is_idempotent_and_complete(make_repo: Callable[..., Butler]) -> None:
    butler = make_repo()
    assert register_instrument(butler, "lsstCam") is True
    assert register_instrument(butler, "LSSTCam") is False
    registry = butler.registry
    assert registry.queryDimensionRecords("detector", instrument="LSSTCam").count() == 205
    filters = {r.name for r in registry.queryDimensionRecords("physical_filter", instrument="LSSTCam")}
    assert filters == set(known_physical_filters("LSSTCam"))


def test_unknown_instrument_is_refused() -> None:
    with pytest.raises(UnknownInstrumentError, match="HSC"):
        detector_records("HSC")
