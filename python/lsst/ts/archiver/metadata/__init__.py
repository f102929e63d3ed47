"""Translated metadata of raw files: translators and the JSON sidecar.

This package must stay light: it runs in the FITS-writing worker processes
and never imports ``lsst.daf.butler``.

The FITS writer must set the primary-header keyword ``ARCHVER`` (the
ts_archiver version, `MARKER_KEYWORD`) on every raw file; the translators
registered here claim only headers that carry it.
"""

from .checksum import *  # noqa: F403
from .marker import *  # noqa: F403
from .sidecar import *  # noqa: F403
from .translator import *  # noqa: F403
