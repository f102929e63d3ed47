"""What a capture worker is asked to do, and what it reports back.

Both are small, picklable, immutable records: a task crosses a process
boundary (and, later, a distributed queue).
"""

from __future__ import annotations

__all__ = ["CaptureOptions", "CaptureTask", "DetectorOutcome", "SourceOutcome"]

from dataclasses import dataclass

from ..fits import ExposureMetadata
from .status import CaptureStatus


@dataclass(frozen=True)
class CaptureOptions:
    """Where and how a worker reads and writes (the same for every task of a CSC).

    Parameters
    ----------
    daq_root : `str`
        Root of the emulated DAQ store.
    partition : `str`
        DAQ partition.
    folder : `str`
        DAQ folder of the images.
    staging : `str`
        Staging root directory (a `~lsst.ts.archiver.staging.StagingArea`'s root).
    compress : `bool`
        RICE_1-compress the amplifier extensions.
    fsync : `bool`
        Flush files to disk before returning.
    """

    daq_root: str
    partition: str
    folder: str
    staging: str
    compress: bool = False
    fsync: bool = False


@dataclass(frozen=True)
class CaptureTask:
    """Capture the detectors of one DAQ source of one image.

    Parameters
    ----------
    options : `CaptureOptions`
        Store and writer options.
    obsid : `str`
        Image name.
    location : `str`
        DAQ source location (``R22/Reb0``).
    detectors : `tuple` [`str`, ...]
        Names of the source's detectors to write (``R22_S00``); others of the
        source are skipped (e.g. already written before a restart).
    metadata : `ExposureMetadata`
        The Archiver's own metadata of the image (camera events); the worker
        adds the DAQ provenance.
    header_text : `str` or `None`
        Header Service file content (YAML), or None to write the Archiver's
        metadata only (flagged ``HDRSRC = 'Archiver'``).
    header_source : `str`
        Where the header came from (for messages).
    header_problem : `str` or `None`
        Why there is no header (written as ``HDRNOTE``).
    """

    options: CaptureOptions
    obsid: str
    location: str
    detectors: tuple[str, ...]
    metadata: ExposureMetadata
    header_text: str | None = None
    header_source: str = ""
    header_problem: str | None = None


@dataclass(frozen=True)
class DetectorOutcome:
    """Result of capturing one detector.

    Parameters
    ----------
    name : `str`
        Detector name (``R22_S11``).
    number : `int`
        obs_lsst detector number.
    status : `CaptureStatus`
        Outcome.
    description : `str`
        The file written (with its ``HDRNOTE``, if any), or why it failed
        (with the offending values).
    path : `str` or `None`
        The raw FITS file, if written; for ``METADATA_FAILED`` the file
        kept in staging under a name no delivery takes
        (``<name>.untranslated.fits``), for a retry.
    size : `int`
        Bytes written (0 on failure without a kept file).
    checksum : `str` or `None`
        ``md5:<hex>`` of the written file, computed as it was written
        (None if not written).
    retrieval_time : `float`
        Seconds to read and decode the source (shared by its detectors).
    write_time : `float`
        Seconds to write this detector's file and sidecar.
    median_signal, noise : `float`
        Pixel statistics (ADU), NaN if unknown.
    header_merged : `bool`
        Whether a Header Service header was merged (False also when the
        merged header could not be translated and the Archiver's own
        metadata was written instead).
    header_note : `str`
        The file's ``HDRNOTE``: why there is no header, which Header
        Service values were dropped and why; empty if none.
    """

    name: str
    number: int
    status: CaptureStatus
    description: str
    path: str | None = None
    size: int = 0
    checksum: str | None = None
    retrieval_time: float = 0.0
    write_time: float = 0.0
    median_signal: float = float("nan")
    noise: float = float("nan")
    header_merged: bool = False
    header_note: str = ""


@dataclass(frozen=True)
class SourceOutcome:
    """Result of one `CaptureTask`: one outcome per requested detector."""

    obsid: str
    location: str
    detectors: tuple[DetectorOutcome, ...]
