"""Catch-up: archive images the DAQ store holds and the ledger does not show as archived."""

from .scheduler import *  # noqa: F403
from .selection import *  # noqa: F403
