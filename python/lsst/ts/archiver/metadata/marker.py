"""The primary-header keyword that marks a raw file as written by ts_archiver.

Our metadata translators claim a header only when this keyword is present, so
they never take over headers that obs_lsst's translators (``LSSTCam``,
``LSSTComCam``, ``LATISS``) are meant to translate when both packages are
installed in the same environment.
"""

from __future__ import annotations

__all__ = ["MARKER_COMMENT", "MARKER_KEYWORD", "has_marker"]

from collections.abc import Mapping
from typing import Any

MARKER_KEYWORD = "ARCHVER"
"""Primary-header keyword the FITS writer must set on every raw file.

Its value is the ts_archiver version that wrote the file (a non-empty
string, e.g. ``'1.2.0'``). Real camera (CCS) files never carry it.
"""

MARKER_COMMENT = "ts_archiver version that wrote this file"
"""Suggested comment for the marker card."""


def has_marker(header: Mapping[str, Any]) -> bool:
    """Tell whether a primary header was written by ts_archiver.

    Parameters
    ----------
    header : `~collections.abc.Mapping`
        Primary header (an `astropy.io.fits.Header` or a plain mapping).

    Returns
    -------
    marked : `bool`
        `True` if ``ARCHVER`` is present and holds a non-empty string.
    """
    value = header.get(MARKER_KEYWORD)
    return isinstance(value, str) and bool(value.strip())
