"""The JSON sidecar written next to every raw file.

A sidecar holds the translated metadata of one raw file (its
`~astro_metadata_translator.ObservationInfo` in simple form) plus the file's
name, size and checksum, so that Butler ingest never has to open the FITS
file again. The FITS writer translates the header with
`translate_primary_header` before it gives the file its final name, makes the
sidecar once the file's size (and checksum) are known and stores it with
`write_sidecar` at `sidecar_path_for`; `make_sidecar` does both steps for a
file already written.

File layout (format version 1)::

    {
      "format": "ts_archiver.raw_sidecar",
      "format_version": 1,
      "file": {"name": "MC_O_20260315_000051_R22_S11.fits", "size": 123456,
               "checksum": "md5:..."},
      "observation_info": {<ObservationInfo.to_simple() form>}
    }

Readers accept any file with the same ``format`` and a ``format_version`` up
to `SIDECAR_FORMAT_VERSION`.
"""

from __future__ import annotations

__all__ = [
    "SIDECAR_FORMAT",
    "SIDECAR_FORMAT_VERSION",
    "RawSidecar",
    "SidecarError",
    "make_sidecar",
    "read_sidecar",
    "sidecar_path_for",
    "translate_primary_header",
    "write_sidecar",
]

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from astro_metadata_translator import MetadataTranslator, ObservationInfo

from .translator import INGEST_REQUIRED_PROPERTIES, SIDECAR_PROPERTIES

SIDECAR_FORMAT = "ts_archiver.raw_sidecar"
"""Value of the ``format`` key of every sidecar."""

SIDECAR_FORMAT_VERSION = 1
"""Version of the sidecar layout this code writes (and the newest it reads)."""

_COMPRESSION_SUFFIXES = (".fz", ".gz", ".bz2")
_TRANSLATOR_CLASS = re.compile(r" (using|with) translator <class '[^']*'>")


class SidecarError(ValueError):
    """A sidecar cannot be made, parsed or written.

    The message names the file or header and what is wrong with it.
    """


@dataclass(frozen=True)
class RawSidecar:
    """Translated metadata of one raw file plus the file's identity.

    Parameters
    ----------
    observation : `~collections.abc.Mapping` [`str`, `~typing.Any`]
        The file's `~astro_metadata_translator.ObservationInfo` in simple
        (JSON-ready) form, as produced by ``ObservationInfo.to_simple``.
    filename : `str`
        Base name of the raw file (no directory).
    size : `int`
        Size of the raw file in bytes.
    checksum : `str` or `None`, optional
        Checksum of the raw file, ``"<algorithm>:<hex digest>"`` by
        convention (e.g. ``"md5:..."``); `None` if not computed.
    format_version : `int`, optional
        Sidecar layout version.
    """

    observation: Mapping[str, Any]
    filename: str
    size: int
    checksum: str | None = None
    format_version: int = SIDECAR_FORMAT_VERSION

    def __post_init__(self) -> None:
        if not self.filename or os.sep in self.filename:
            raise SidecarError(f"Sidecar filename {self.filename!r} must be a non-empty base name")
        if not isinstance(self.size, int) or self.size < 0:
            raise SidecarError(f"Sidecar size {self.size!r} of {self.filename} must be an integer >= 0")
        missing = sorted(
            p for p in ("instrument", "exposure_id", "detector_num") if p not in self.observation
        )
        if missing:
            raise SidecarError(
                f"Sidecar of {self.filename} lacks the translated properties {missing}; "
                "re-create it with make_sidecar from the file's primary header"
            )

    # --- values ingest needs, read straight from the simple form (cheap) ---

    @property
    def instrument(self) -> str:
        """Butler instrument name, e.g. ``"LSSTCam"``."""
        return str(self.observation["instrument"])

    @property
    def exposure_id(self) -> int:
        """Butler exposure id (``DAYOBS * 100000 + SEQNUM``)."""
        return int(self.observation["exposure_id"])

    @property
    def detector_num(self) -> int:
        """obs_lsst detector number."""
        return int(self.observation["detector_num"])

    @property
    def observation_id(self) -> str:
        """Image name (``OBSID``), e.g. ``"MC_O_20260315_000051"``."""
        return str(self.observation.get("observation_id", ""))

    @property
    def day_obs(self) -> int:
        """Observing day, ``YYYYMMDD``."""
        return int(self.observation["observing_day"])

    @property
    def physical_filter(self) -> str:
        """Butler physical filter name."""
        return str(self.observation["physical_filter"])

    @cached_property
    def observation_info(self) -> ObservationInfo:
        """The full `~astro_metadata_translator.ObservationInfo` (built on first use)."""
        try:
            return ObservationInfo.from_simple(dict(self.observation))
        except Exception as e:
            raise SidecarError(
                f"Sidecar of {self.filename} holds metadata that ObservationInfo rejects: {e}"
            ) from e

    # --- serialization ---

    def to_dict(self) -> dict[str, Any]:
        """Return the sidecar as JSON-ready plain data (the file layout)."""
        return {
            "format": SIDECAR_FORMAT,
            "format_version": self.format_version,
            "file": {"name": self.filename, "size": self.size, "checksum": self.checksum},
            "observation_info": dict(self.observation),
        }

    def to_json(self) -> str:
        """Serialize to the sidecar file's JSON text.

        Returns
        -------
        text : `str`
            Compact JSON, one object.
        """
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "sidecar") -> RawSidecar:
        """Build a sidecar from plain data in the file layout.

        Parameters
        ----------
        data : `~collections.abc.Mapping`
            Parsed JSON.
        source : `str`, optional
            Where the data came from, for error messages.

        Raises
        ------
        SidecarError
            Raised if the data is not a ts_archiver sidecar of a readable
            version.
        """
        if not isinstance(data, Mapping) or data.get("format") != SIDECAR_FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise SidecarError(f"{source} is not a ts_archiver raw sidecar (format={got!r})")
        version = data.get("format_version")
        if not isinstance(version, int) or not 1 <= version <= SIDECAR_FORMAT_VERSION:
            raise SidecarError(
                f"{source} has sidecar format_version {version!r}; this ts_archiver reads 1.."
                f"{SIDECAR_FORMAT_VERSION}: upgrade ts_archiver or re-create the sidecar"
            )
        file_info = data.get("file")
        observation = data.get("observation_info")
        if not isinstance(file_info, Mapping) or not isinstance(observation, Mapping):
            raise SidecarError(f"{source} lacks the 'file' or 'observation_info' object")
        try:
            return cls(
                observation=observation,
                filename=str(file_info["name"]),
                size=file_info["size"],
                checksum=file_info.get("checksum"),
                format_version=version,
            )
        except KeyError as e:
            raise SidecarError(f"{source}: 'file' lacks the {e} entry") from e
        except SidecarError as e:
            raise SidecarError(f"{source}: {e}") from e

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "sidecar") -> RawSidecar:
        """Parse the JSON text of a sidecar file.

        Parameters
        ----------
        text : `str` or `bytes`
            The file's content.
        source : `str`, optional
            Where the text came from, for error messages.

        Raises
        ------
        SidecarError
            Raised if the text is not valid JSON or not a readable sidecar.
        """
        try:
            data = json.loads(text)
        except ValueError as e:
            raise SidecarError(f"{source} is not valid JSON: {e}") from e
        return cls.from_dict(data, source=source)


def translate_primary_header(primary_header: Mapping[str, Any], *, filename: str) -> dict[str, Any]:
    """Translate a raw file's primary header as ingest does.

    The FITS writer calls this before it gives the file its final name, so
    a file whose metadata ingest could not translate is never committed.

    Parameters
    ----------
    primary_header : `~collections.abc.Mapping`
        The primary header exactly as written (or to be written) to the
        file (an `astropy.io.fits.Header` or a plain mapping of keyword to
        value). It must carry the ``ARCHVER`` marker and the keywords
        listed in `lsst.ts.archiver.metadata.translator`.
    filename : `str`
        Name of the raw file, for messages; only the base name is used.

    Returns
    -------
    observation : `dict` [`str`, `~typing.Any`]
        The `~astro_metadata_translator.ObservationInfo` in simple
        (JSON-ready) form, as a sidecar holds it.

    Raises
    ------
    SidecarError
        Raised if no ts_archiver translator accepts the header (missing
        ``ARCHVER`` or unknown ``INSTRUME``) or a property ingest needs
        cannot be computed (whatever the translator raised); the message
        names the file and the property.
    """
    name = os.path.basename(filename)
    header = dict(primary_header)
    translator_class = _find_translator(header, name)
    try:
        info = ObservationInfo(
            header,
            filename=None,
            translator_class=translator_class,
            subset=set(SIDECAR_PROPERTIES),
            required=set(INGEST_REQUIRED_PROPERTIES),
            quiet=True,
        )
        observation: dict[str, Any] = json.loads(info.to_json())
    except Exception as e:
        # Any failure (not only the KeyError/TypeError/ValueError of a
        # missing property) means ingest could not translate the file.
        raise SidecarError(f"Cannot translate the primary header of {name}: {_reason(e)}") from e
    return observation


def _reason(error: Exception) -> str:
    """Why a translation failed, without astro_metadata_translator's class names."""
    if isinstance(error, KeyError) and error.args and isinstance(error.args[0], str):
        text = error.args[0]  # str(KeyError) would quote it
    else:
        text = str(error)
    text = _TRANSLATOR_CLASS.sub("", text)
    return f"{text}: {error.__cause__}" if error.__cause__ is not None else text


def make_sidecar(
    primary_header: Mapping[str, Any],
    *,
    filename: str,
    size: int,
    checksum: str | None = None,
) -> RawSidecar:
    """Translate a raw file's primary header into a sidecar.

    Parameters
    ----------
    primary_header : `~collections.abc.Mapping`
        The primary header exactly as written to the file (see
        `translate_primary_header`).
    filename : `str`
        Name of the raw file; only the base name is kept.
    size : `int`
        Size of the raw file in bytes.
    checksum : `str` or `None`, optional
        Checksum of the raw file (``"<algorithm>:<hex digest>"``).

    Returns
    -------
    sidecar : `RawSidecar`
        The sidecar, ready for `write_sidecar`.

    Raises
    ------
    SidecarError
        Raised if the header cannot be translated (`translate_primary_header`).
    """
    name = os.path.basename(filename)
    observation = translate_primary_header(primary_header, filename=name)
    return RawSidecar(observation=observation, filename=name, size=size, checksum=checksum)


def _find_translator(header: Mapping[str, Any], name: str) -> type[MetadataTranslator]:
    from .marker import MARKER_KEYWORD, has_marker
    from .translator import ArchiverTranslator

    if not has_marker(header):
        raise SidecarError(
            f"The primary header of {name} lacks the {MARKER_KEYWORD} keyword (ts_archiver version); "
            "the FITS writer must set it before the sidecar is made"
        )
    for translator in MetadataTranslator.translators.values():
        if issubclass(translator, ArchiverTranslator) and translator.can_translate(header):
            return translator
    raise SidecarError(
        f"No ts_archiver translator accepts INSTRUME={header.get('INSTRUME')!r} in {name}; "
        "expected lsstCam, ComCam/LSSTComCam or LATISS"
    )


def sidecar_path_for(fits_path: str | os.PathLike[str]) -> Path:
    """Return where the sidecar of a raw file lives.

    Parameters
    ----------
    fits_path : `str` or `os.PathLike`
        Path of the raw file (``.fits``, ``.fits.fz``, ``.fits.gz``...).

    Returns
    -------
    path : `pathlib.Path`
        Same directory and stem, extension ``.json``
        (``X_R22_S11.fits.fz`` → ``X_R22_S11.json``).
    """
    path = Path(fits_path)
    if path.suffix in _COMPRESSION_SUFFIXES:
        path = path.with_suffix("")
    return path.with_suffix(".json")


def write_sidecar(path: str | os.PathLike[str], sidecar: RawSidecar, *, fsync: bool = False) -> Path:
    """Write a sidecar atomically (temporary file in the same directory, then rename).

    Parameters
    ----------
    path : `str` or `os.PathLike`
        Destination, normally ``sidecar_path_for(fits_path)``.
    sidecar : `RawSidecar`
        What to write.
    fsync : `bool`, optional
        Flush the file to disk before the rename (slower; for staging areas
        that must survive a power cut).

    Returns
    -------
    path : `pathlib.Path`
        The written path.

    Raises
    ------
    OSError
        Raised if the directory is not writable; no partial file is left.
    """
    target = Path(path)
    data = sidecar.to_json().encode()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            if fsync:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return target


def read_sidecar(path: str | os.PathLike[str]) -> RawSidecar:
    """Read a sidecar file.

    Parameters
    ----------
    path : `str` or `os.PathLike`
        Path of the ``.json`` sidecar.

    Returns
    -------
    sidecar : `RawSidecar`
        The parsed sidecar.

    Raises
    ------
    FileNotFoundError
        Raised if there is no such file.
    SidecarError
        Raised if the file is not a readable ts_archiver sidecar.
    """
    with open(path, "rb") as stream:
        text = stream.read()
    return RawSidecar.from_json(text, source=f"sidecar {os.fspath(path)}")
