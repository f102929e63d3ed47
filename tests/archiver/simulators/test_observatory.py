"""The simulated observatory: plausible, tracked, deterministic pointing and weather."""

from __future__ import annotations

import math

import pytest

from lsst.ts.archiver.simulators import (
    RUBIN_SITE,
    SimulatedObservatory,
    filters_for,
    gratings_for,
    local_sidereal_time_deg,
)

T0 = 1795500000.0  # a TAI unix time in 2026


def test_state_is_deterministic_for_seed_and_group() -> None:
    a = SimulatedObservatory("LSSTCam", seed=3).state("g1", T0, T0 + 10)
    b = SimulatedObservatory("LSSTCam", seed=3).state("g1", T0, T0 + 10)
    c = SimulatedObservatory("LSSTCam", seed=4).state("g1", T0, T0 + 10)
    assert a == b
    assert a != c


@pytest.mark.parametrize("group", [f"group{i}" for i in range(30)])
def test_pointing_is_above_the_horizon_with_consistent_airmass(group: str) -> None:
    state = SimulatedObservatory("LSSTComCam").state(group, T0, T0 + 30)
    assert 30.0 < state.elevation <= 90.0
    assert state.airmass == pytest.approx(1.0 / math.sin(math.radians(state.elevation)))
    assert 0.0 <= state.ra < 360.0 and -90.0 <= state.dec <= 90.0
    assert 0.0 <= state.azimuth < 360.0
    assert (state.physical_filter, state.band) in filters_for("LSSTComCam")


def test_a_group_tracks_its_field_while_the_hour_angle_advances() -> None:
    observatory = SimulatedObservatory("LSSTCam")
    start = observatory.state("g", T0, T0)
    later = observatory.state("g", T0, T0 + 3600.0)
    assert (later.ra, later.dec, later.physical_filter) == (start.ra, start.dec, start.physical_filter)
    # One sidereal hour is 15.04 degrees of hour angle.
    assert later.hour_angle - start.hour_angle == pytest.approx(15.041, abs=0.01)


def test_local_sidereal_time_at_j2000() -> None:
    # GMST at 2000-01-01T12:00 UT1 is 280.46 degrees; TAI = UTC + 37 s by convention here.
    assert local_sidereal_time_deg(946728000.0 + 37.0, 0.0) == pytest.approx(280.46061837)
    assert local_sidereal_time_deg(946728000.0 + 37.0, RUBIN_SITE.longitude) == pytest.approx(
        (280.46061837 + RUBIN_SITE.longitude) % 360
    )


def test_latiss_has_its_own_filters() -> None:
    assert ("SDSSr_65mm", "r") in filters_for("LATISS")
    assert SimulatedObservatory("LATISS").state("g", T0, T0).physical_filter in {
        f for f, _ in filters_for("LATISS")
    }


# obs_lsst's COMCAM_FILTER_DEFINITIONS (python/lsst/obs/lsst/filters.py) and LATISS gratings.
OBS_LSST_COMCAM_FILTERS = {
    "empty",
    "unknown",
    "u_05",
    "u_02",
    "u_06",
    "g_07",
    "g_01",
    "r_03",
    "i_06",
    "z_03",
    "z_02",
    "y_04",
}
OBS_LSST_LATISS_GRATINGS = {
    "empty",
    "unknown",
    "ronchi90lpmm",
    "ronchi170lpmm",
    "holo4_001",
    "holo4_003",
    "blue300lpmm_qn1",
}


def test_every_comcam_filter_the_simulator_can_choose_is_in_obs_lsst_s_comcam_list() -> None:
    names = {name for name, _ in filters_for("LSSTComCam")}
    assert names <= OBS_LSST_COMCAM_FILTERS
    assert {band for _, band in filters_for("LSSTComCam")} == set("ugrizy")
    chosen = {SimulatedObservatory("LSSTComCam").state(f"g{i}", T0, T0).physical_filter for i in range(60)}
    assert chosen <= OBS_LSST_COMCAM_FILTERS and len(chosen) > 1


def test_only_latiss_has_gratings_and_they_are_obs_lsst_s() -> None:
    assert set(gratings_for("LATISS")) <= OBS_LSST_LATISS_GRATINGS
    states = [SimulatedObservatory("LATISS").state(f"g{i}", T0, T0) for i in range(40)]
    assert {s.grating for s in states} <= OBS_LSST_LATISS_GRATINGS and len({s.grating for s in states}) > 1
    for camera_name in ("LSSTComCam", "LSSTCam"):
        assert gratings_for(camera_name) == ()
        assert SimulatedObservatory(camera_name).state("g", T0, T0).grating is None
