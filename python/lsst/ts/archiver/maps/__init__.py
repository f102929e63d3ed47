"""Focal-plane maps: every detector of an image in its place, coloured by status.

One concept per module:

* `geometry`: where each detector of LATISS, ComCam and LSSTCam lies (pure);
* `image_status`: what the ledger says of each detector of one image;
* `focal_plane`: the PNG, drawn with matplotlib's Agg backend
  (`write_image_map`, the entry point of the demo, the commander and the
  status page);
* `archiver_ledger`: the map of an image in an Archiver's ledger, found
  from its configuration (``archiver_commander``'s ``map``).
"""

from .archiver_ledger import *  # noqa: F403
from .focal_plane import *  # noqa: F403
from .geometry import *  # noqa: F403
from .image_status import *  # noqa: F403
