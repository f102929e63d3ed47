"""Error codes of the Archiver CSC (``errorCode.errorCode``).

They are used only for conditions that stop the Archiver from working at all
(FAULT). Problems with one image, detector or destination are reported
through ``imageRetrievalForArchiving``, ``imageInOODS`` and ``imageArchived``
and retried; they never send the CSC to FAULT. The operator guide
(doc/archiver.rst) says how to recover from each code.
"""

from __future__ import annotations

__all__ = ["ArchiverFault", "ErrorCode"]

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

    NO_CAPTURE_WORKER = 5806
    """``capture.backend: redis``: capture work is pending and no capture worker
    (``run_archiver_worker``) has heart-beaten for ``capture.no_worker_timeout``
    seconds (or Redis cannot be reached for that long); start a worker or check Redis."""

    INTERNAL_ERROR = 5899
    """An unexpected error in the Archiver's own orchestration (a bug; see the traceback)."""


class ArchiverFault(Exception):
    """A condition the Archiver cannot work around: the CSC goes to FAULT.

    Raised by the runtime, the pipeline and staging; the CSC turns it into
    ``errorCode`` and FAULT. Never used for one image's, detector's or
    destination's problems.

    Parameters
    ----------
    code : `ErrorCode`
        Why.
    report : `str`
        What happened, with the offending values and what to do.
    """

    def __init__(self, code: ErrorCode, report: str) -> None:
        super().__init__(report)
        self.code = code
        self.report = report

    def __reduce__(self) -> tuple[type[ArchiverFault], tuple[ErrorCode, str]]:
        return (type(self), (self.code, self.report))
