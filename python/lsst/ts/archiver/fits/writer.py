"""The raw FITS writer: one file per CCD, as the camera writes it.

File layout (reference camera-daq-fits §3.1): an empty primary HDU, one
int32 576×2048 image extension per amplifier in the order Segment10..17,
Segment07..00 (8 for a wavefront half), then ``REB_COND`` when REB telemetry
is given. Every HDU carries ``CHECKSUM``/``DATASUM``. Uncompressed files are
serialized by this package (pre-rendered headers, one ``writev`` per file);
compressed files use cfitsio's RICE_1 with one tile per row.

Writes are atomic: a temporary file in the target directory renamed over
the final name. With a sidecar (the default), the primary header is
translated as ingest translates it
(`lsst.ts.archiver.metadata.translate_primary_header`) *before* the file is
written, so a file under its final name can always be ingested:

* if the merged header cannot be translated, the file is written from the
  Archiver's own metadata instead (``HDRSRC = 'Archiver'``, ``HDRNOTE``
  saying why);
* if even that cannot be translated, the file is kept under
  `untranslated_file_name` without a sidecar and `UntranslatableFileError`
  is raised.

The JSON sidecar is written next to the file once its size (and digest)
are known.
"""

from __future__ import annotations

__all__ = ["RawFitsWriter", "WrittenFile", "raw_file_name", "untranslated_file_name"]

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .. import __version__
from ..camera import Camera, Detector, ImageName
from ..metadata import RawSidecar, SidecarError, sidecar_path_for, translate_primary_header, write_sidecar
from .atomic import AtomicFile
from .card import Card, CardValue
from .checksum import FILE_DIGESTS, FileDigest, words_sum
from .errors import PixelDataError, UntranslatableFileError
from .extension import EXTENSION_KEYWORDS, extension_templates, reb_cond_template
from .hdu import HeaderTemplate, SealedHdu, primary_cards, seal_empty, seal_header, seal_image
from .header_file import HeaderServiceFile
from .primary import (
    ExposureMetadata,
    HeaderSource,
    PrimaryHeader,
    build_primary_header,
    extension_extra_cards,
)
from .rice import seal_rice_image
from .sanitize import HeaderChange, sanitize_cards

_log = logging.getLogger(__name__)

_DIGESTS = FILE_DIGESTS


def raw_file_name(obsid: str, detector: Detector) -> str:
    """``{OBSID}_{RAFTBAY}_{CCDSLOT}.fits`` (also for compressed files)."""
    return ImageName.parse(obsid).file_name(detector.raft, detector.sensor)


def untranslated_file_name(obsid: str, detector: Detector) -> str:
    """``{OBSID}_{RAFTBAY}_{CCDSLOT}.untranslated.fits``: a file kept because
    its metadata cannot be translated (never delivered as a raw file)."""
    return raw_file_name(obsid, detector).removesuffix(".fits") + ".untranslated.fits"


@dataclass(frozen=True)
class _Headers:
    """Every header card of one file, before it is written."""

    primary: PrimaryHeader
    segment_extras: dict[str, tuple[Card, ...]]
    changes: list[HeaderChange]


@dataclass(frozen=True)
class WrittenFile:
    """What `RawFitsWriter.write` produced.

    Parameters
    ----------
    path : `pathlib.Path`
        The raw FITS file.
    size : `int`
        Its size in bytes.
    compressed : `bool`
        Whether the amplifier extensions are RICE_1 compressed.
    primary : `PrimaryHeader`
        The primary header written (cards, source, conflicts, changes,
        ``HDRNOTE`` notes). Its ``source`` is `HeaderSource.ARCHIVER` when
        the Header Service header was not used (none given, or its
        metadata could not be translated).
    changes : `tuple` [`HeaderChange`, ...]
        Every sanitation change (primary and extensions).
    datasums : `tuple` [`int`, ...]
        ``DATASUM`` of each uncompressed amplifier image, in HDU order
        (the ones' complement sum of its pixels).
    sidecar_path : `pathlib.Path` or `None`
        The JSON sidecar, if written.
    checksum : `str` or `None`
        ``"<algorithm>:<hex>"`` digest of the file, if asked for.
    """

    path: Path
    size: int
    compressed: bool
    primary: PrimaryHeader
    changes: tuple[HeaderChange, ...]
    datasums: tuple[int, ...]
    sidecar_path: Path | None
    checksum: str | None


def _check_pixels(
    detector: Detector, pixels: npt.NDArray[np.int32] | Sequence[npt.NDArray[np.int32]]
) -> list[npt.NDArray[np.int32]]:
    images = list(pixels)
    expected = detector.n_amplifiers
    if len(images) != expected:
        raise PixelDataError(
            f"{detector.name} has {expected} amplifiers but {len(images)} pixel arrays were given; "
            "pass them in FITS order (Segment10..17, 07..00)"
        )
    shape = detector.amplifiers[0].shape
    for index, image in enumerate(images):
        if not isinstance(image, np.ndarray) or image.shape != shape:
            got = getattr(image, "shape", type(image).__name__)
            raise PixelDataError(f"{detector.name} amplifier {index + 1}: shape {got}, expected {shape}")
        if image.dtype.kind != "i" or image.dtype.itemsize != 4:
            raise PixelDataError(
                f"{detector.name} amplifier {index + 1}: dtype {image.dtype}, expected int32"
            )
        if not image.flags.c_contiguous:
            images[index] = np.ascontiguousarray(image)
    return images


def _translate(primary: PrimaryHeader, name: str) -> tuple[dict[str, object] | None, SidecarError | None]:
    """The translated metadata of a primary header, or why it cannot be translated."""
    try:
        return translate_primary_header(primary.as_dict(), filename=name), None
    except SidecarError as error:
        return None, error


class RawFitsWriter:
    """Writes raw FITS files (plus sidecars) for one CCD at a time.

    Parameters
    ----------
    compress : `bool`, optional
        RICE_1-compress the amplifier extensions (one tile per row).
    fsync : `bool`, optional
        Flush each file (and its directory entry) to disk before returning.
    sidecar : `bool`, optional
        Write the JSON sidecar of translated metadata next to each file.
    digest : `str` or `None`, optional
        Also compute a digest of the file bytes for the sidecar:
        ``"crc32"``, ``"md5"``, ``"sha256"`` or None (fastest). It is
        computed from the bytes as they are written (`FileDigest`), never
        by reading the file back; the capture path records ``md5``, which
        delivery then uses instead of reading the staged file.
    archiver_version : `str`, optional
        Version written as ``ARCHVER``; default the installed ts_archiver.
    sample_bits : `int`, optional
        Promise that every pixel value is in ``0 .. 2**sample_bits - 1``.
        Pixels decoded from the DAQ are 18-bit samples, so the capture path
        passes 18; that skips a range check in the checksum (about 3 ms per
        CCD). None (default) checks. A broken promise gives wrong
        ``DATASUM``/``CHECKSUM`` values, which every FITS reader reports.

    Notes
    -----
    An instance keeps a scratch buffer for the big-endian pixels, so it is
    not safe to share between threads; use one per worker.
    """

    def __init__(
        self,
        *,
        compress: bool = False,
        fsync: bool = False,
        sidecar: bool = True,
        digest: str | None = None,
        archiver_version: str | None = None,
        sample_bits: int | None = None,
    ) -> None:
        if digest is not None and digest not in _DIGESTS:
            raise ValueError(f"digest {digest!r} is not one of {_DIGESTS} or None")
        self.compress = compress
        self.fsync = fsync
        self.sidecar = sidecar
        self.digest = digest
        self.archiver_version = archiver_version or __version__
        self.sample_bits = sample_bits
        self._scratch: npt.NDArray[np.int32] | None = None

    def __getstate__(self) -> dict[str, object]:
        # Do not ship the scratch buffer (75 MB) to worker processes.
        state = self.__dict__.copy()
        state["_scratch"] = None
        return state

    def _big_endian_buffer(self, count: int, shape: tuple[int, int]) -> npt.NDArray[np.int32]:
        full = (count, *shape)
        if self._scratch is None or self._scratch.shape[0] < count or self._scratch.shape[1:] != shape:
            self._scratch = np.empty(full, dtype=">i4")
        return self._scratch[:count]

    def write(
        self,
        directory: str | os.PathLike[str],
        camera: Camera,
        detector: Detector,
        pixels: npt.NDArray[np.int32] | Sequence[npt.NDArray[np.int32]],
        metadata: ExposureMetadata,
        header: HeaderServiceFile | None = None,
        *,
        header_problem: str | None = None,
        reb_conditions: Mapping[str, CardValue] | Sequence[Card] | None = None,
        written_at: float | None = None,
    ) -> WrittenFile:
        """Write the raw file of one detector of one image.

        Parameters
        ----------
        directory : `str` or `os.PathLike`
            Existing directory for the file (and its sidecar).
        camera : `~lsst.ts.archiver.camera.Camera`
            The instrument.
        detector : `~lsst.ts.archiver.camera.Detector`
            The detector.
        pixels : `numpy.ndarray` or sequence of them
            int32 amplifier images in FITS order, shape
            ``(n_amplifiers, 2048, 576)`` or a list of ``(2048, 576)``.
        metadata : `ExposureMetadata`
            The Archiver's own metadata of the image.
        header : `HeaderServiceFile` or `None`, optional
            The Header Service header; None writes the writer's metadata
            only, marked ``HDRSRC = 'Archiver'``.
        header_problem : `str`, optional
            Why ``header`` is None (``HDRNOTE``), e.g. ``"late"``.
        reb_conditions : mapping or cards, optional
            REB telemetry keywords for the ``REB_COND`` extension; no
            extension when None.
        written_at : `float`, optional
            File creation time (TAI unix seconds) for ``DATE``/``MJD``.

        Returns
        -------
        written : `WrittenFile`
            Path, size, header record and sidecar path.

        Raises
        ------
        PixelDataError
            If the pixel arrays do not match the detector.
        DiskFullError, WritePermissionError, FitsWriteError
            If the file cannot be written; no partial file is left.
        UntranslatableFileError
            If the file's metadata cannot be translated even without the
            Header Service header (only with a sidecar); the file is kept
            under `untranslated_file_name` (the error's ``path``).
        """
        images = _check_pixels(detector, pixels)
        name = raw_file_name(metadata.obsid, detector)

        made = self._headers(camera, detector, metadata, header, header_problem, written_at)
        observation: dict[str, object] | None = None
        untranslatable: SidecarError | None = None
        if self.sidecar:
            made, observation, untranslatable = self._translated(
                made, name, camera, detector, metadata, header, header_problem, written_at
            )
            if untranslatable is not None:
                name = untranslated_file_name(metadata.obsid, detector)
        primary, segment_extras, changes = made.primary, made.segment_extras, made.changes
        reb_cards: tuple[Card, ...] | None = None
        if reb_conditions is not None:
            items = reb_conditions.items() if isinstance(reb_conditions, Mapping) else reb_conditions
            clean = sanitize_cards(list(items))
            reb_cards = clean.cards
            changes += clean.changes
        if changes:
            _log.info(
                "%s %s: header sanitation changed %d value(s): %s",
                metadata.obsid,
                detector.name,
                len(changes),
                "; ".join(str(c) for c in changes),
            )
        path = Path(directory) / name
        primary_hdu = seal_empty(HeaderTemplate.from_cards(primary_cards() + list(primary.cards)))
        reb_hdu = seal_empty(reb_cond_template(), reb_cards) if reb_cards is not None else None
        templates = extension_templates(detector)
        extras = [segment_extras.get(amp.segment, ()) for amp in detector.amplifiers]
        digest = FileDigest(self.digest) if self.digest else None
        if self.compress:
            datasums = self._write_compressed(
                path, detector, images, templates, extras, primary_hdu, reb_hdu, digest
            )
        else:
            datasums = self._write_plain(path, images, templates, extras, primary_hdu, reb_hdu, digest)
        size = path.stat().st_size
        checksum = digest.value() if digest is not None else None
        if untranslatable is not None:
            _log.error(
                "%s %s: the file's own metadata cannot be translated (%s); kept, not ingestible, as %s",
                metadata.obsid,
                detector.name,
                untranslatable,
                path,
            )
            raise UntranslatableFileError(
                f"{untranslatable}; the file is kept (not ingestible) as {path}", path
            ) from untranslatable
        sidecar_path = None
        if observation is not None:
            sidecar = RawSidecar(observation=observation, filename=path.name, size=size, checksum=checksum)
            sidecar_path = write_sidecar(sidecar_path_for(path), sidecar, fsync=self.fsync)
        return WrittenFile(
            path, size, self.compress, primary, tuple(changes), datasums, sidecar_path, checksum
        )

    def _headers(
        self,
        camera: Camera,
        detector: Detector,
        metadata: ExposureMetadata,
        header: HeaderServiceFile | None,
        problem: str | None,
        written_at: float | None,
        notes: tuple[str, ...] = (),
    ) -> _Headers:
        """The primary header and the extensions' extra cards of one file."""
        segment_extras, extension_changes, extension_notes = extension_extra_cards(
            header, detector, EXTENSION_KEYWORDS
        )
        primary = build_primary_header(
            camera,
            detector,
            metadata,
            header,
            archiver_version=self.archiver_version,
            header_problem=problem,
            notes=(*extension_notes, *notes),
            written_at=written_at,
        )
        return _Headers(primary, segment_extras, list(primary.changes) + extension_changes)

    def _translated(
        self,
        made: _Headers,
        name: str,
        camera: Camera,
        detector: Detector,
        metadata: ExposureMetadata,
        header: HeaderServiceFile | None,
        problem: str | None,
        written_at: float | None,
    ) -> tuple[_Headers, dict[str, object] | None, SidecarError | None]:
        """Translate the headers as ingest will; fall back to the Archiver's own metadata.

        Returns the headers to write, their translated metadata, and why
        they cannot be translated (None when they can).
        """
        observation, error = _translate(made.primary, name)
        if error is not None and made.primary.source is HeaderSource.HEADER_SERVICE:
            _log.warning(
                "%s %s: the merged header cannot be translated (%s); writing the Archiver's own metadata",
                metadata.obsid,
                detector.name,
                error,
            )
            header, problem = None, f"Header Service header not used: {error}"
            made = self._headers(camera, detector, metadata, header, problem, written_at)
            observation, error = _translate(made.primary, name)
        if error is not None:
            note = f"not ingestible: {error}"
            made = self._headers(camera, detector, metadata, header, problem, written_at, (note,))
        return made, observation, error

    def _write_plain(
        self,
        path: Path,
        images: list[npt.NDArray[np.int32]],
        templates: tuple[HeaderTemplate, ...],
        extras: list[tuple[Card, ...]],
        primary_hdu: SealedHdu,
        reb_hdu: SealedHdu | None,
        digest: FileDigest | None,
    ) -> tuple[int, ...]:
        buffer = self._big_endian_buffer(len(images), images[0].shape)
        hdus = [primary_hdu]
        hdus += [
            seal_image(t, img, buffer[i], extra, sample_bits=self.sample_bits)
            for i, (t, img, extra) in enumerate(zip(templates, images, extras, strict=True))
        ]
        if reb_hdu is not None:
            hdus.append(reb_hdu)
        with AtomicFile(path, fsync=self.fsync, digest=digest) as out:
            out.write([chunk for hdu in hdus for chunk in hdu.buffers()])
        return tuple(hdu.datasum for hdu in hdus[1 : 1 + len(images)])

    def _write_compressed(
        self,
        path: Path,
        detector: Detector,
        images: list[npt.NDArray[np.int32]],
        templates: tuple[HeaderTemplate, ...],
        extras: list[tuple[Card, ...]],
        primary_hdu: SealedHdu,
        reb_hdu: SealedHdu | None,
        digest: FileDigest | None,
    ) -> tuple[int, ...]:
        # ZDATASUM/ZHECKSUM: the checksums the image HDU has uncompressed (as
        # fpack keeps them), so the pixels can be verified after decompression.
        datasums = tuple(words_sum(img, sample_bits=self.sample_bits) for img in images)
        headers = []
        for template, extra, datasum in zip(templates, extras, datasums, strict=True):
            _, image_checksum = seal_header(template, extra, datasum)
            headers.append(
                template.cards
                + tuple(extra)
                + (
                    Card("ZHECKSUM", image_checksum, "HDU checksum of the uncompressed image"),
                    Card("ZDATASUM", str(datasum), "data unit checksum of the uncompressed image"),
                )
            )
        extnames = [amp.extname for amp in detector.amplifiers]
        with AtomicFile(path, fsync=self.fsync, digest=digest) as out:
            out.write(primary_hdu.buffers())
            for image, cards, extname in zip(images, headers, extnames, strict=True):
                out.write(seal_rice_image(image, cards, extname).buffers())
            if reb_hdu is not None:
                out.write(reb_hdu.buffers())
        return datasums
