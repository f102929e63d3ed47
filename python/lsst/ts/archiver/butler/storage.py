"""The raw dataset type, its storage classes and formatter, as repository config.

The definitions are written into each repository's ``butler.yaml`` when it is
created (`repository_config`), so any client that has ts_archiver installed
can read the raws without environment variables.
"""

from __future__ import annotations

__all__ = [
    "FORMATTER_NAME",
    "RAW_DATASET_TYPE",
    "RAW_DIMENSIONS",
    "RAW_HEADER_STORAGE_CLASS",
    "RAW_STORAGE_CLASS",
    "raw_run",
    "storage_config",
]

from typing import Any

RAW_DATASET_TYPE = "raw"
"""Dataset type name of raw camera files."""

RAW_DIMENSIONS: tuple[str, ...] = ("instrument", "detector", "exposure")
"""Dimensions of ``raw`` (the universe adds the implied ones)."""

RAW_STORAGE_CLASS = "RawFitsHDUList"
"""Storage class of ``raw``: an `astropy.io.fits.HDUList`, parameter ``hdu``."""

RAW_HEADER_STORAGE_CLASS = "RawFitsHeader"
"""Storage class of the ``raw.header`` component: an `astropy.io.fits.Header`."""

FORMATTER_NAME = "lsst.ts.archiver.butler.formatter.RawFitsFormatter"
"""Fully qualified name of the formatter readers import."""


def raw_run(instrument: str) -> str:
    """Return the RUN collection of an instrument's raws (obs_base convention).

    Parameters
    ----------
    instrument : `str`
        Butler instrument name, e.g. ``"LSSTCam"``.

    Returns
    -------
    run : `str`
        ``"<instrument>/raw/all"``.
    """
    return f"{instrument}/raw/all"


def storage_config() -> dict[str, Any]:
    """Return the storage-class and formatter part of a repository config.

    Returns
    -------
    config : `dict`
        ``storageClasses`` and ``datastore.formatters`` entries.
    """
    return {
        "storageClasses": {
            RAW_HEADER_STORAGE_CLASS: {"pytype": "astropy.io.fits.Header"},
            RAW_STORAGE_CLASS: {
                "pytype": "astropy.io.fits.HDUList",
                "parameters": ["hdu"],
                "derivedComponents": {"header": RAW_HEADER_STORAGE_CLASS},
            },
        },
        "datastore": {"formatters": {RAW_STORAGE_CLASS: FORMATTER_NAME}},
    }
