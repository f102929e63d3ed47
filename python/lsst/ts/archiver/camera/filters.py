"""Physical filter names of the cameras, as obs_lsst defines them (facts only).

From obs_lsst's ``python/lsst/obs/lsst/filters.py``
(https://github.com/lsst/obs_lsst): the LSSTCam baseline filters, the
ComCam filters (``<band>_<serial>``, e.g. ``r_03``) and the LATISS filters
and gratings, whose physical filter is ``FILTER~GRATING``. A ``FILTER`` the
Archiver or a simulator writes for a camera should be one of these, or
obs_lsst (and a Butler repository it registered) would not know it.
"""

from __future__ import annotations

__all__ = [
    "COMCAM_FILTER_BANDS",
    "COMCAM_ON_SKY_FILTERS",
    "LATISS_GRATINGS",
    "LSSTCAM_FILTER_BANDS",
]

from collections.abc import Mapping
from types import MappingProxyType

LSSTCAM_FILTER_BANDS: Mapping[str, str] = MappingProxyType(
    {
        "u_24": "u",
        "g_6": "g",
        "r_57": "r",
        "i_39": "i",
        "z_20": "z",
        "y_10": "y",
        "ph_5": "white",
        "ef_43": "white",
        "empty": "white",
        "none": "white",
    }
)
"""LSSTCam physical filter → band: the on-sky baseline filters, the pinhole
and "empty" filters and the two no-filter cases."""

COMCAM_FILTER_BANDS: Mapping[str, str] = MappingProxyType(
    {
        "empty": "white",
        "unknown": "unknown",
        "u_05": "u",
        "u_02": "u",
        "u_06": "u",
        "g_07": "g",
        "g_01": "g",
        "r_03": "r",
        "i_06": "i",
        "z_03": "z",
        "z_02": "z",
        "y_04": "y",
    }
)
"""Every ComCam physical filter obs_lsst knows → band."""

COMCAM_ON_SKY_FILTERS: tuple[str, ...] = ("u_02", "g_01", "r_03", "i_06", "z_03", "y_04")
"""One ComCam filter per band, the ones the simulators put in the beam."""

LATISS_GRATINGS: tuple[str, ...] = (
    "empty",
    "ronchi90lpmm",
    "ronchi170lpmm",
    "holo4_001",
    "holo4_003",
    "blue300lpmm_qn1",
)
"""LATISS dispersers (``GRATING``) obs_lsst knows, besides ``unknown``, the
pinholes and the SDSS 65 mm filters that can sit in the grating wheel."""
