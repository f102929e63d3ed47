"""`capture_source`: the body of one capture task, run in a worker process.

Reads one source from the DAQ store by image name, decodes it, and for each
requested detector merges the header, writes the raw FITS file and its JSON
sidecar atomically and computes pixel statistics. Every error becomes a
`CaptureStatus` in the returned outcome; nothing raises.

No Header Service value can cost an image: bad values are dropped for the
Archiver's own (`~lsst.ts.archiver.fits.KEYWORD_RULES`), a merged header
that cannot be translated is replaced by the Archiver's own metadata, and
the outcome's description carries ``HDRNOTE``. Only a file whose own
metadata cannot be translated ends ``METADATA_FAILED``; it is kept in the
image's staging directory (`~lsst.ts.archiver.fits.untranslated_file_name`,
the outcome's ``path``) for a retry.
"""

from __future__ import annotations

__all__ = ["capture_source", "classify_error", "detector_threads", "ignore_interrupts"]

import dataclasses
import math
import os
import signal
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..camera import Camera, Detector
from ..daq import (
    DaqStore,
    EmulatedDaqStore,
    FolderNotFoundError,
    ImageEvictedError,
    ImageIncompleteError,
    ImageMetadata,
    ImageNotFoundError,
    SourceDataError,
    SourceMetadata,
    SourceNotFoundError,
    StoreUnavailableError,
    stream_layout,
)
from ..error_codes import ArchiverFault
from ..fits import (
    CorruptHeaderError,
    DiskFullError,
    ExposureMetadata,
    FitsWriteError,
    HeaderServiceFile,
    HeaderSource,
    PixelDataError,
    RawFitsWriter,
    UntranslatableFileError,
    WritePermissionError,
    check_value,
    parse_header_file,
)
from ..metadata import SidecarError
from ..staging import StagingArea
from .stats import DetectorStats, detector_stats
from .status import CaptureStatus
from .task import CaptureOptions, CaptureTask, DetectorOutcome, SourceOutcome

SAMPLE_BITS = 18
"""DAQ samples are 18-bit values; the writer may skip its range check."""

DESCRIPTION_NOTE_LENGTH = 1000
"""Characters of ``HDRNOTE`` repeated in an outcome's description at most."""


def ignore_interrupts() -> None:
    """Initializer of a worker process: ignore SIGINT.

    Ctrl-C in a terminal sends SIGINT to every process of the foreground
    group; a worker that took it would die with a ``KeyboardInterrupt``
    traceback in the middle of a task. The parent CSC handles the signal
    and shuts its pool down, which ends the workers cleanly.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Per-process caches: a worker process serves many tasks.
_stores: dict[tuple[str, str], DaqStore] = {}
_writers: dict[tuple[bool, bool, int], RawFitsWriter] = {}
_buffers: dict[tuple[int, ...], np.ndarray] = {}
_stats_thread: ThreadPoolExecutor | None = None
_detector_pool: ThreadPoolExecutor | None = None
_detector_pool_size = 0


def detector_threads(n_detectors: int) -> int:
    """Threads that write the detectors of one source: one per detector, at most one per core.

    Decoding is done once per source; each detector's header building,
    byte swap, checksum, ``writev``, MD5 and statistics then run in a thread
    of their own. All but the header building and (with RICE_1) cfitsio's
    compression release the GIL, so when cores are free (one worker left
    busy with the last source of an image, as 3 ComCam sources on 2 workers
    leave) the detectors of a source use them. When every worker is busy
    the threads only share that worker's core, at the cost of one scratch
    buffer per thread (75 MB for an LSSTCam CCD).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(n_detectors, cores))


def _detector_threads_pool(threads: int) -> ThreadPoolExecutor:
    """This process's pool of detector threads, with at least ``threads`` threads."""
    global _detector_pool, _detector_pool_size
    if _detector_pool is None or _detector_pool_size < threads:
        if _detector_pool is not None:
            _detector_pool.shutdown()
        _detector_pool = ThreadPoolExecutor(threads, thread_name_prefix="capture-detector")
        _detector_pool_size = threads
    return _detector_pool


def _stats_in_background(detector: Detector, pixels: np.ndarray) -> Future[DetectorStats]:
    """Compute a detector's pixel statistics in this process's stats thread.

    They run while the file is written and hashed (numpy's partition,
    ``writev`` and hashlib release the GIL), which costs no wall time when
    a core is free (one CCD per image, or the last task of an image).
    """
    global _stats_thread
    if _stats_thread is None:
        _stats_thread = ThreadPoolExecutor(1, thread_name_prefix="capture-stats")
    return _stats_thread.submit(detector_stats, detector, pixels)


def _store(options: CaptureOptions) -> DaqStore:
    key = (options.daq_root, options.partition)
    store = _stores.get(key)
    if store is None:
        store = EmulatedDaqStore(options.daq_root, options.partition, create=False)
        _stores[key] = store
    return store


def _writer(options: CaptureOptions) -> RawFitsWriter:
    """This thread's writer (a writer's scratch buffer is not shared)."""
    key = (options.compress, options.fsync, threading.get_ident())
    writer = _writers.get(key)
    if writer is None:
        # md5 hashed as the bytes go out: delivery takes it from the sidecar
        # instead of reading the staged file back once per destination.
        writer = RawFitsWriter(
            compress=options.compress,
            fsync=options.fsync,
            sidecar=True,
            digest="md5",
            sample_bits=SAMPLE_BITS,
        )
        _writers[key] = writer
    return writer


def _buffer(source: SourceMetadata) -> np.ndarray:
    """A reused decode buffer of the source's shape (one shape kept per process)."""
    layout = stream_layout(source.kind)
    shape = (layout.n_detectors, layout.amps_per_detector, source.naxis2, source.naxis1)
    buffer = _buffers.get(shape)
    if buffer is None:
        _buffers.clear()
        buffer = np.empty(shape, dtype=np.int32)
        _buffers[shape] = buffer
    return buffer


def classify_error(error: BaseException) -> CaptureStatus:
    """Map an exception raised while capturing to a `CaptureStatus`."""
    if isinstance(error, ArchiverFault):
        return CaptureStatus.for_fault(error.code)
    # Order matters: subclasses first.
    table: tuple[tuple[type[BaseException], CaptureStatus], ...] = (
        (StoreUnavailableError, CaptureStatus.DAQ_UNAVAILABLE),
        (ImageEvictedError, CaptureStatus.IMAGE_EVICTED),
        (ImageNotFoundError, CaptureStatus.IMAGE_NOT_FOUND),
        (FolderNotFoundError, CaptureStatus.IMAGE_NOT_FOUND),
        (SourceNotFoundError, CaptureStatus.SOURCE_MISSING),
        (ImageIncompleteError, CaptureStatus.SOURCE_INCOMPLETE),
        (SourceDataError, CaptureStatus.CORRUPT_DATA),
        (PixelDataError, CaptureStatus.BAD_PIXEL_DATA),
        (DiskFullError, CaptureStatus.STAGING_FULL),
        (WritePermissionError, CaptureStatus.STAGING_NOT_WRITABLE),
        (FitsWriteError, CaptureStatus.WRITE_FAILED),
        (SidecarError, CaptureStatus.METADATA_FAILED),
    )
    for error_type, status in table:
        if isinstance(error, error_type):
            return status
    return CaptureStatus.UNEXPECTED


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if classify_error(error) is CaptureStatus.UNEXPECTED:
        last = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
        return f"{type(error).__name__}: {text}{where}"
    return text


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 4] + " ..."


def _failed(task: CaptureTask, camera: Camera | None, error: BaseException) -> SourceOutcome:
    status = classify_error(error)
    description = _describe(error)
    outcomes = []
    for name in task.detectors:
        number = camera.detector(name).id if camera is not None else -1
        outcomes.append(DetectorOutcome(name=name, number=number, status=status, description=description))
    return SourceOutcome(task.obsid, task.location, tuple(outcomes))


def _known(value: float | None) -> float | None:
    """A camera-event time or duration, or None if unknown or not finite."""
    return value if value is not None and math.isfinite(value) else None


def _valid_exptime(value: float | None) -> float | None:
    """``EXPTIME`` from the camera events, or None unless its keyword rule accepts it."""
    if _known(value) is None:
        return None
    try:
        check_value("EXPTIME", value)
    except ValueError:
        return None
    return value


def _with_daq_provenance(
    metadata: ExposureMetadata, image: ImageMetadata, source: SourceMetadata
) -> ExposureMetadata:
    cards = source.header_cards()
    # Without camera events (commanded or catch-up archiving, or a restart)
    # the DAQ trigger time is the best estimate of the exposure start.
    date_beg = _known(metadata.date_beg)
    if date_beg is None:
        date_beg = image.timestamp
    # The DAQ does not know the exposure time; 0 keeps the file ingestible and
    # the primary header says HDRSRC = 'Archiver' (metadata to be corrected).
    # A value the keyword rules would drop counts as unknown: the file's own
    # metadata must stay translatable.
    exptime = _valid_exptime(metadata.exptime)
    date_end = _known(metadata.date_end)
    if date_end is None:
        date_end = date_beg + (exptime or 0.0)
    if exptime is None:
        exptime = 0.0
    return dataclasses.replace(
        metadata,
        exptime=exptime,
        date_beg=date_beg,
        date_end=date_end,
        date_trg=metadata.date_trg if metadata.date_trg is not None else image.timestamp,
        daq_folder=image.folder,
        daq_annotation=image.annotation,
        image_tag=image.tag_hex,
        daq_version=cards["DAQVERS"] or None,
        firmware=cards["FIRMWARE"],
        reb_serial=cards["CONTNUM"],
    )


def capture_source(task: CaptureTask) -> SourceOutcome:
    """Capture the requested detectors of one DAQ source (blocking, CPU-heavy).

    Parameters
    ----------
    task : `CaptureTask`
        What to capture.

    Returns
    -------
    outcome : `SourceOutcome`
        One `DetectorOutcome` per detector of ``task.detectors``, in order.
    """
    options = task.options
    camera: Camera | None = None
    try:
        store = _store(options)
        camera = store.camera
        header: HeaderServiceFile | None = None
        header_problem = task.header_problem
        if task.header_text is not None:
            try:
                header = parse_header_file(task.header_text, source=task.header_source or task.obsid)
            except CorruptHeaderError as e:
                header_problem = f"header file unusable: {e}"
        started = time.monotonic()
        image = store.find_image(task.obsid, options.folder)
        source = image.source(task.location)
        decoded = store.decode_source(task.obsid, source.location, options.folder, out=_buffer(source))
        retrieval_time = time.monotonic() - started
        directory = StagingArea(options.staging, fsync=options.fsync).create_image_dir(task.obsid)
    except Exception as e:
        return _failed(task, camera, e)

    metadata = _with_daq_provenance(task.metadata, image, source)
    pixels_by_name = {detector.name: decoded.pixels[i] for i, detector in enumerate(decoded.detectors)}

    def capture_detector(name: str) -> DetectorOutcome:
        writer = _writer(options)
        detector = camera.detector(name)
        pixels = pixels_by_name.get(name)
        if pixels is None:
            return DetectorOutcome(
                name=name,
                number=detector.id,
                status=CaptureStatus.SOURCE_MISSING,
                description=f"source {source.location} of image {task.obsid} does not hold {name}",
            )
        started = time.monotonic()
        try:
            if detector.n_amplifiers != pixels.shape[0]:
                pixels = pixels[: detector.n_amplifiers]
            computing = _stats_in_background(detector, pixels)
            try:
                written = writer.write(
                    directory,
                    camera,
                    detector,
                    pixels,
                    metadata,
                    header,
                    header_problem=header_problem,
                )
            finally:
                stats = computing.result()  # the pixels' buffer is reused by the next decode
        except UntranslatableFileError as e:
            kept = os.path.getsize(e.path) if os.path.exists(e.path) else 0
            return DetectorOutcome(
                name=name,
                number=detector.id,
                status=CaptureStatus.METADATA_FAILED,
                description=_describe(e),
                path=e.path,
                size=kept,
                retrieval_time=retrieval_time,
                write_time=time.monotonic() - started,
            )
        except Exception as e:
            return DetectorOutcome(
                name=name,
                number=detector.id,
                status=classify_error(e),
                description=_describe(e),
                retrieval_time=retrieval_time,
            )
        note = "; ".join(written.primary.notes)
        description = f"{os.path.basename(written.path)} written ({written.size} bytes)"
        if note:
            description += f"; HDRNOTE: {_cut(note, DESCRIPTION_NOTE_LENGTH)}"
        return DetectorOutcome(
            name=name,
            number=detector.id,
            status=CaptureStatus.OK,
            description=description,
            path=os.fspath(written.path),
            size=written.size,
            checksum=written.checksum,
            retrieval_time=retrieval_time,
            write_time=time.monotonic() - started,
            median_signal=stats.median_signal,
            noise=stats.noise,
            header_merged=written.primary.source is HeaderSource.HEADER_SERVICE,
            header_note=note,
        )

    threads = detector_threads(len(task.detectors))
    if threads > 1:
        outcomes = list(_detector_threads_pool(threads).map(capture_detector, task.detectors))
    else:
        outcomes = [capture_detector(name) for name in task.detectors]
    return SourceOutcome(task.obsid, task.location, tuple(outcomes))
