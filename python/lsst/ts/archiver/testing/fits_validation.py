"""Check a FITS file the way the archive's users will: with ``fitsverify``
(Debian package ``fitsverify``) and with astropy verifying every checksum.
"""

from __future__ import annotations

__all__ = ["open_verified", "run_fitsverify"]

import subprocess
import warnings
from pathlib import Path

from astropy.io import fits


def run_fitsverify(path: Path) -> str:
    """Run ``fitsverify`` on a file; return its full report.

    Parameters
    ----------
    path : `pathlib.Path`
        The FITS file.

    Returns
    -------
    report : `str`
        What ``fitsverify`` printed.

    Raises
    ------
    AssertionError
        Raised if the report has a warning or an error; the message is the
        report.
    """
    result = subprocess.run(["fitsverify", str(path)], capture_output=True, text=True, check=False)
    report = result.stdout + result.stderr
    if "Verification found 0 warning(s) and 0 error(s)" not in report:
        raise AssertionError(f"fitsverify found problems in {path}:\n{report}")
    return report


def open_verified(path: Path) -> fits.HDUList:
    """Open a FITS file with astropy, verifying ``CHECKSUM`` and ``DATASUM``
    of every HDU.

    Parameters
    ----------
    path : `pathlib.Path`
        The FITS file.

    Returns
    -------
    hdus : `astropy.io.fits.HDUList`
        The opened file (every header parsed); close it when done.

    Raises
    ------
    Warning
        Any warning astropy gives (a bad checksum, a non-standard card) is
        raised as an error.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdus = fits.open(path, checksum=True)
        for hdu in hdus:
            hdu.header  # noqa: B018 - force parsing (and checksum verification) of every HDU
        return hdus
