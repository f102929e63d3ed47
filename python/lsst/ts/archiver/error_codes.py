"""Error codes of the Archiver CSC (``errorCode.errorCode``).

They are used only for conditions that stop the Archiver from working at all
(FAULT). Problems with one image, detector or destination are reported
through ``imageRetrievalForArchiving``, ``imageInOODS`` and ``imageArchived``
and retried; they never send the CSC to FAULT. The operator guide
(doc/archiver.rst) says how to recover from each code.
"""

from __future__ import annotations

__all__ = ["ErrorCode"]

import enum


class ErrorCode(enum.IntEnum):
    """Why the Archiver went to FAULT."""

    LEDGER_UNAVAILABLE = 5801
    """The ledger database cannot be opened or written."""

    DAQ_STORE_UNAVAILABLE = 5802
    """The DAQ image store (partition catalog) cannot be reached."""

    STAGING_NOT_WRITABLE = 5803
    """The staging directory cannot be created or written."""

    STAGING_FULL = 5804
    """The staging area has less free space than ``min_free_space`` (or a write hit ENOSPC)."""

    SIMULATOR_FAILED = 5805
    """Simulation mode only: the simulated camera system could not be started."""

    INTERNAL_ERROR = 5899
    """An unexpected error in the Archiver's own orchestration (a bug; see the traceback)."""
