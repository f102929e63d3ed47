"""Catch-up: archive what the normal path missed, found by comparing the DAQ
catalog, the ledger and the archive's Butler registries."""

from .inventory import *  # noqa: F403
from .planning import *  # noqa: F403
from .scheduler import *  # noqa: F403
from .selection import *  # noqa: F403
from .status import *  # noqa: F403
