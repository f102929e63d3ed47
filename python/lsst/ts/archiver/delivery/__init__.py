"""Delivery: transfer raws to their destinations, ingest them, report results.

Destinations (OODS, DBB, Prompt Processing, Camera Diagnostic Cluster,
Active Optics System, copies) are configured as a list (`DestinationConfig`,
JSON schema `DESTINATION_SCHEMA`), each taking every file or a `Selection`
of detectors and image types; `DeliveryService` drains one durable ledger
queue per destination with retries and reports ``imageInOODS``,
``imageDelivered`` and ``imageArchived``-style results through callbacks.
`OodsCleaner` expires old raws from an OODS repository. Never imports salkit.
"""

from .budget import *  # noqa: F403
from .cleanup import *  # noqa: F403
from .config import *  # noqa: F403
from .destination import *  # noqa: F403
from .errors import *  # noqa: F403
from .keys import *  # noqa: F403
from .link import *  # noqa: F403
from .notifications import *  # noqa: F403
from .results import *  # noqa: F403
from .selection import *  # noqa: F403
from .service import *  # noqa: F403
from .tracker import *  # noqa: F403
from .transfer import *  # noqa: F403
from .worker import *  # noqa: F403
