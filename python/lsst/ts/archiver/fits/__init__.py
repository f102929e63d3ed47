"""Raw FITS writing: Rubin raw layout, Header Service merge, checksums, RICE_1.

Examples
--------
>>> from lsst.ts.archiver.camera import LSSTCAM
>>> from lsst.ts.archiver.fits import ExposureMetadata, RawFitsWriter
>>> writer = RawFitsWriter(compress=False)  # doctest: +SKIP
>>> writer.write(directory, LSSTCAM, LSSTCAM.detector("R22_S11"), pixels,
...              ExposureMetadata(obsid="MC_O_20260315_000051"), header)  # doctest: +SKIP
"""

from .atomic import *  # noqa: F403
from .card import *  # noqa: F403
from .checksum import *  # noqa: F403
from .errors import *  # noqa: F403
from .extension import *  # noqa: F403
from .hdu import *  # noqa: F403
from .header_file import *  # noqa: F403
from .keyword_rules import *  # noqa: F403
from .manifest import *  # noqa: F403
from .pixel_wcs import *  # noqa: F403
from .primary import *  # noqa: F403
from .rice import *  # noqa: F403
from .sanitize import *  # noqa: F403
from .writer import *  # noqa: F403
