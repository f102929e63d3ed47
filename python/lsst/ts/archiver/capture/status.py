"""Status codes of one detector's capture (``imageRetrievalForArchiving.statusCode``)."""

from __future__ import annotations

__all__ = ["CaptureStatus"]

import enum

from ..error_codes import ErrorCode


class CaptureStatus(enum.IntEnum):
    """Outcome of capturing one detector; 0 is success.

    `transient` codes are retried (up to the configured number of attempts);
    the others are final at once. `fault_worthy` codes mean the Archiver
    cannot work at all (the CSC goes to FAULT with `fault_code` and the
    image is resumed after recovery).
    """

    OK = 0
    IMAGE_NOT_FOUND = 1
    """The image is not in the DAQ folder (never arrived, or a wrong name)."""
    IMAGE_EVICTED = 2
    """The image was in the DAQ store but has been evicted."""
    SOURCE_MISSING = 3
    """The image has no source for the detector's REB."""
    SOURCE_INCOMPLETE = 4
    """The source was not completely written in the DAQ store in time."""
    CORRUPT_DATA = 5
    """The source's data are truncated or fail their checksum."""
    BAD_PIXEL_DATA = 6
    """The decoded pixels do not match the detector's geometry."""
    WRITE_FAILED = 7
    """The FITS file could not be written (other than a full or read-only disk)."""
    METADATA_FAILED = 8
    """The JSON sidecar could not be made from the merged header."""
    DAQ_UNAVAILABLE = 9
    """The DAQ store could not be reached."""
    STAGING_FULL = 10
    """The staging disk is full."""
    STAGING_NOT_WRITABLE = 11
    """The staging directory is not writable."""
    UNEXPECTED = 12
    """Any other error (the description has the details)."""

    @property
    def transient(self) -> bool:
        """Worth another attempt."""
        return self in _TRANSIENT

    @property
    def fault_worthy(self) -> bool:
        """The Archiver cannot work at all (FAULT); not the detector's fault."""
        return self in _FAULT_CODES

    @property
    def fault_code(self) -> ErrorCode | None:
        """The CSC's error code if `fault_worthy`, else None."""
        return _FAULT_CODES.get(self)

    @classmethod
    def for_fault(cls, code: ErrorCode) -> CaptureStatus:
        """The status of a detector whose capture hit a fault with ``code``.

        `UNEXPECTED` for codes no capture status stands for.
        """
        for status, fault_code in _FAULT_CODES.items():
            if fault_code is code:
                return status
        return cls.UNEXPECTED


_TRANSIENT = frozenset(
    {
        CaptureStatus.SOURCE_INCOMPLETE,
        CaptureStatus.CORRUPT_DATA,
        CaptureStatus.WRITE_FAILED,
        CaptureStatus.UNEXPECTED,
    }
)
_FAULT_CODES = {
    CaptureStatus.DAQ_UNAVAILABLE: ErrorCode.DAQ_STORE_UNAVAILABLE,
    CaptureStatus.STAGING_FULL: ErrorCode.STAGING_FULL,
    CaptureStatus.STAGING_NOT_WRITABLE: ErrorCode.STAGING_NOT_WRITABLE,
}
