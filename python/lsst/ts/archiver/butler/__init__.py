"""Butler layer: repositories, instrument registration, raw formatter and ingest.

A plain, blocking library (no SAL): the CSC calls it from threads. Raws go to
the RUN ``<instrument>/raw/all`` as dataset type ``raw`` with dimensions
(instrument, detector, exposure), storage class ``RawFitsHDUList`` and
formatter `RawFitsFormatter` (astropy ``HDUList``; ``raw.header`` gives an
``astropy.io.fits.Header``).
"""

from .errors import *  # noqa: F403
from .formatter import *  # noqa: F403
from .ingest import *  # noqa: F403
from .instrument import *  # noqa: F403
from .records import *  # noqa: F403
from .repository import *  # noqa: F403
from .storage import *  # noqa: F403
