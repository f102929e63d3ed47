"""The primary header of a raw file: the Archiver's own keywords merged with
the Header Service's.

Who wins:

* **Writer-owned** keywords (`WRITER_OWNED_KEYWORDS`: file structure and
  identity — ``FILENAME``, ``OBSID`` and its parts, ``INSTRUME``,
  ``RAFTBAY``/``CCDSLOT``, the CCD's identity, the DAQ provenance, the file
  creation time, the header version and source markers) take the writer's
  value whenever the writer has one.
* Everything else (the exposure description: ``IMGTYPE``, ``EXPTIME``,
  ``DATE-BEG`` ..., pointing, weather ...) takes the Header Service value;
  the writer's value (from the camera events) is the fallback.

A keyword both sides set to different values is a `MergeConflict`; the
conflicts are returned and logged. Values from both sides are sanitized
(`sanitize_cards`) and checked against their keyword's rule
(`~lsst.ts.archiver.fits.keyword_rules.KEYWORD_RULES`) before the merge,
and the changes returned: a Header Service value that is not what its
keyword needs is dropped, so the writer's value (if any) stays, and the
drop is listed in ``HDRNOTE`` (``DATE-BEG dropped: 'yesterday' is not an
ISO date``).

When there is no usable header file (missing, late, corrupt, or its
metadata cannot be translated: the caller's policy decides), the file is
written from the writer's metadata alone and marked with
``HDRSRC = 'Archiver'`` plus ``HDRNOTE`` saying why.

Some keywords a camera's raw files always carry although the Archiver cannot
know their value (`CAMERA_DEFAULT_KEYWORDS`: LATISS's ``GRATING``, which
obs_lsst joins with ``FILTER`` into the physical filter ``FILTER~GRATING``)
get a default when neither side gives a value; a Header Service value always
replaces it, without a conflict.
"""

from __future__ import annotations

__all__ = [
    "CAMERA_DEFAULT_KEYWORDS",
    "ExposureMetadata",
    "HEADER_VERSION",
    "HeaderSource",
    "MergeConflict",
    "PrimaryHeader",
    "WRITER_OWNED_KEYWORDS",
    "HDRNOTE_MAX_LENGTH",
    "bad_value_notes",
    "build_primary_header",
    "hdrnote_cards",
    "extension_extra_cards",
    "mjd_from_tai_unix",
    "tai_unix_to_isot",
    "writer_primary_cards",
]

import datetime
import enum
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..camera import Camera, Detector, ImageName
from ..metadata import MARKER_COMMENT, MARKER_KEYWORD
from .card import COMMENTARY_KEYWORDS, LONGSTRN_CARD, Card, CardValue, fits_one_card
from .header_file import HeaderServiceFile
from .sanitize import HeaderChange, ascii_text, sanitize_cards

_log = logging.getLogger(__name__)

HDRNOTE_MAX_LENGTH = 2000
"""Characters of ``HDRNOTE`` at most (a long string, continued over cards)."""

HEADER_VERSION = 1
"""Version of the primary-header layout written by ts_archiver (``HEADVER``)."""

_UNIX_EPOCH = datetime.datetime(1970, 1, 1)
_MJD_UNIX_EPOCH = 40587.0
_TAI_MINUS_UTC = 37.0  # seconds, since 2017-01-01

WRITER_OWNED_KEYWORDS = frozenset(
    {
        "FILENAME", "DATE", "MJD", "TIMESYS", "HEADVER", MARKER_KEYWORD, "HDRSRC", "HDRNOTE",
        "OBSID", "CAMCODE", "CONTRLLR", "DAYOBS", "SEQNUM", "INSTRUME", "TELESCOP",
        "RAFTBAY", "CCDSLOT", "DETSIZE", "CCD_MANU", "CCD_TYPE", "LSST_NUM",
        "DAQPART", "DAQFOLD", "OBSANNOT", "IMAGETAG", "DATE-TRG", "MJD-TRG",
        "PLATFORM", "DAQVERS", "FIRMWARE", "CONTNUM",
    }
)  # fmt: skip
"""Keywords for which the writer's value wins over the Header Service's."""


CAMERA_DEFAULT_KEYWORDS: Mapping[str, tuple[Card, ...]] = {
    "LATISS": (Card("GRATING", "empty", "Disperser (Archiver default: no Header Service value)"),),
}
"""Per camera (Butler instrument name), the cards written when neither the
Archiver's metadata nor the Header Service gives the keyword a value.

LATISS's ``GRATING`` is the spectrograph's, which only the Header Service
reads. Without the keyword obs_lsst's translator calls the grating
``unknown`` while ours assumes ``empty``, so the same file would get two
physical filters; with it both read ``<FILTER>~empty``, which the LATISS
Butler instrument registers for its filters."""

_PROVENANCE_KEYWORDS = frozenset({"HDRSRC", "HDRNOTE", "LONGSTRN"})
"""Only the writer says where the metadata came from."""


class HeaderSource(enum.Enum):
    """Where the primary header's exposure description came from (``HDRSRC``)."""

    HEADER_SERVICE = "HeaderService"
    ARCHIVER = "Archiver"


def tai_unix_to_isot(tai_unix: float) -> str:
    """ISO-8601 TAI calendar time (milliseconds) from TAI unix seconds.

    SAL times are TAI seconds counted from 1970-01-01T00:00:00 (TAI), so the
    calendar time is the epoch plus the seconds, without leap seconds.
    """
    moment = _UNIX_EPOCH + datetime.timedelta(seconds=tai_unix)
    return moment.isoformat(timespec="milliseconds")


def mjd_from_tai_unix(tai_unix: float) -> float:
    """TAI Modified Julian Date from TAI unix seconds."""
    return _MJD_UNIX_EPOCH + tai_unix / 86400.0


@dataclass(frozen=True)
class ExposureMetadata:
    """What the Archiver itself knows about one image (camera events, DAQ).

    Times are TAI unix seconds (SAL convention). Any field may be None when
    unknown; unknown values are simply not written (the Header Service may
    still provide them).

    Parameters
    ----------
    obsid : `str`
        Image name, e.g. ``MC_O_20260315_000051``.
    imgtype : `str`, optional
        ``BIAS``, ``DARK``, ``FLAT``, ``OBJECT`` ... (``IMGTYPE``).
    exptime, darktime, shuttime : `float`, optional
        Requested exposure, dark and measured shutter-open times (s).
    date_beg, date_end : `float`, optional
        Start and end of the exposure (``DATE-BEG``/``DATE-END``).
    date_trg : `float`, optional
        DAQ trigger time (``DATE-TRG``).
    groupid : `str`, optional
        Group id (``GROUPID``).
    curindex, maxindex : `int`, optional
        Position in the sequence (1-based) and its length.
    daq_folder, daq_annotation, image_tag : `str`, optional
        DAQ image metadata (``DAQFOLD``, ``OBSANNOT``, ``IMAGETAG``).
    daq_version, firmware, reb_serial : `str`, optional
        DAQ source provenance (``DAQVERS``, ``FIRMWARE``, ``CONTNUM``).
    extra : `~collections.abc.Mapping` [`str`, value], optional
        Further keywords (e.g. ``FILTER``, ``REASON``, ``PROGRAM`` from the
        camera's ``additionalKeys``); treated like Header Service-owned ones.
    """

    obsid: str
    imgtype: str | None = None
    exptime: float | None = None
    darktime: float | None = None
    shuttime: float | None = None
    date_beg: float | None = None
    date_end: float | None = None
    date_trg: float | None = None
    groupid: str | None = None
    curindex: int | None = None
    maxindex: int | None = None
    daq_folder: str | None = None
    daq_annotation: str | None = None
    image_tag: str | None = None
    daq_version: str | None = None
    firmware: str | None = None
    reb_serial: str | None = None
    extra: Mapping[str, CardValue] = field(default_factory=dict)


@dataclass(frozen=True)
class MergeConflict:
    """A keyword both the writer and the Header Service set, differently.

    Parameters
    ----------
    keyword : `str`
        The keyword.
    writer_value, header_service_value : value
        The two values.
    winner : `str`
        ``"writer"`` or ``"header service"``.
    """

    keyword: str
    writer_value: CardValue
    header_service_value: CardValue
    winner: str

    def __str__(self) -> str:
        return (
            f"{self.keyword}: writer {self.writer_value!r} vs Header Service "
            f"{self.header_service_value!r}, {self.winner} wins"
        )


@dataclass(frozen=True)
class PrimaryHeader:
    """The merged primary header of one raw file.

    Parameters
    ----------
    cards : `tuple` [`Card`, ...]
        Cards to write after the structural ones, in order.
    source : `HeaderSource`
        Whether a Header Service header was merged.
    conflicts : `tuple` [`MergeConflict`, ...]
        Keywords set differently by the two sides.
    changes : `tuple` [`HeaderChange`, ...]
        What sanitation changed.
    notes : `tuple` [`str`, ...]
        What ``HDRNOTE`` says, one entry per fact (why there is no header,
        each bad value dropped ...); empty without ``HDRNOTE``.
    """

    cards: tuple[Card, ...]
    source: HeaderSource
    conflicts: tuple[MergeConflict, ...] = ()
    changes: tuple[HeaderChange, ...] = ()
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, CardValue]:
        """Keyword → value (commentary cards left out), e.g. for the sidecar."""
        return {c.keyword: c.value for c in self.cards if c.keyword not in COMMENTARY_KEYWORDS}


def _optional(cards: list[Card], keyword: str, value: CardValue, comment: str) -> None:
    if value is not None:
        cards.append(Card(keyword, value, comment))


def writer_primary_cards(
    camera: Camera,
    detector: Detector,
    metadata: ExposureMetadata,
    *,
    archiver_version: str,
    written_at: float | None = None,
) -> list[Card]:
    """The primary keywords the Archiver writes from its own knowledge.

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The instrument.
    detector : `~lsst.ts.archiver.camera.Detector`
        The detector of this file.
    metadata : `ExposureMetadata`
        What the camera events and the DAQ said about the image.
    archiver_version : `str`
        ts_archiver version (``ARCHVER``, the marker our translators need).
    written_at : `float`, optional
        File creation time, TAI unix seconds; default now.

    Returns
    -------
    cards : `list` [`Card`]
        Unsanitized cards in the order written.

    Raises
    ------
    lsst.ts.archiver.camera.InvalidImageNameError
        If ``metadata.obsid`` is not a valid image name.
    """
    name = ImageName.parse(metadata.obsid)
    now = time.time() + _TAI_MINUS_UTC if written_at is None else written_at
    m = metadata
    cards = [
        Card("FILENAME", name.file_name(detector.raft, detector.sensor), "Original file name"),
        Card("DATE", tai_unix_to_isot(now), "Creation date of this file"),
        Card("MJD", mjd_from_tai_unix(now), "Modified Julian Date of file creation"),
        Card("TIMESYS", "TAI", "Time system of all dates"),
        Card("HEADVER", HEADER_VERSION, "Version of the ts_archiver header layout"),
        Card(MARKER_KEYWORD, archiver_version, MARKER_COMMENT),
        Card("OBSID", name.obsid, "Image name"),
        Card("CAMCODE", name.camera_code, "Camera code"),
        Card("CONTRLLR", name.controller, "Image controller"),
        Card("DAYOBS", name.day_obs_str, "Observing day"),
        Card("SEQNUM", name.seq_num, "Sequence number of the day"),
        Card("INSTRUME", camera.instrume, "Instrument"),
        Card("TELESCOP", camera.telescope, "Telescope"),
    ]
    _optional(cards, "IMGTYPE", m.imgtype, "Image type")
    _optional(cards, "GROUPID", m.groupid, "Group of the image")
    _optional(cards, "CURINDEX", m.curindex, "Index of the image in its sequence")
    _optional(cards, "MAXINDEX", m.maxindex, "Number of images in the sequence")
    _optional(cards, "EXPTIME", m.exptime, "Requested exposure time (s)")
    _optional(cards, "DARKTIME", m.darktime, "Dark time (s)")
    _optional(cards, "SHUTTIME", m.shuttime, "Measured shutter open time (s)")
    if m.date_beg is not None and math.isfinite(m.date_beg):
        cards.append(Card("DATE-OBS", tai_unix_to_isot(m.date_beg), "Start of the exposure"))
        cards.append(Card("DATE-BEG", tai_unix_to_isot(m.date_beg), "Start of the exposure"))
        cards.append(Card("MJD-OBS", mjd_from_tai_unix(m.date_beg), "Start of the exposure (MJD)"))
        cards.append(Card("MJD-BEG", mjd_from_tai_unix(m.date_beg), "Start of the exposure (MJD)"))
    if m.date_end is not None and math.isfinite(m.date_end):
        cards.append(Card("DATE-END", tai_unix_to_isot(m.date_end), "End of the exposure"))
        cards.append(Card("MJD-END", mjd_from_tai_unix(m.date_end), "End of the exposure (MJD)"))
    cards += [
        Card("RAFTBAY", detector.raft, "Raft bay"),
        Card("CCDSLOT", detector.sensor, "CCD slot in the raft"),
        Card("CCD_MANU", detector.physical_type, "CCD manufacturer"),
        Card("CCD_TYPE", detector.ccd_type, "CCD model"),
        Card("DETSIZE", str(detector.layout.detsize), "Size of the CCD"),
    ]
    _optional(cards, "LSST_NUM", detector.lsst_num, "LSST serial number of the CCD")
    cards += [
        Card("DAQPART", camera.partition, "DAQ partition"),
        Card("PLATFORM", camera.platform, "DAQ platform"),
    ]
    _optional(cards, "DAQFOLD", m.daq_folder, "DAQ folder of the image")
    _optional(cards, "OBSANNOT", m.daq_annotation, "DAQ image annotation")
    _optional(cards, "IMAGETAG", m.image_tag, "DAQ image id")
    if m.date_trg is not None and math.isfinite(m.date_trg):
        cards.append(Card("DATE-TRG", tai_unix_to_isot(m.date_trg), "DAQ readout trigger time"))
        cards.append(Card("MJD-TRG", mjd_from_tai_unix(m.date_trg), "DAQ readout trigger time (MJD)"))
    _optional(cards, "DAQVERS", m.daq_version, "DAQ software version")
    _optional(cards, "FIRMWARE", m.firmware, "REB firmware version")
    _optional(cards, "CONTNUM", m.reb_serial, "REB serial number")
    cards += [Card(k, v, "") for k, v in m.extra.items()]
    return cards


def _add_camera_defaults(camera: Camera, merged: dict[str, Card], order: list[str]) -> None:
    """Give each of the camera's `CAMERA_DEFAULT_KEYWORDS` missing or blank in ``merged`` its default."""
    for default in CAMERA_DEFAULT_KEYWORDS.get(camera.name, ()):
        current = merged.get(default.keyword)
        if current is None:
            order.append(default.keyword)
        elif not (isinstance(current.value, str) and not current.value.strip()):
            continue
        merged[default.keyword] = default


def _same(a: CardValue, b: CardValue) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
            return a == b
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


_TIME_GROUPS: tuple[tuple[tuple[str, str], ...], ...] = (
    # (MJD keyword, ISO keyword) pairs in the order the translators prefer them.
    (("MJD-BEG", "DATE-BEG"), ("MJD-OBS", "DATE-OBS")),
    (("MJD-END", "DATE-END"),),
)


def _iso_to_tai_unix(text: str) -> float | None:
    try:
        moment = datetime.datetime.fromisoformat(text.strip().rstrip("Z"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None)
    return (moment - _UNIX_EPOCH).total_seconds()


def _align_time_groups(merged: dict[str, Card], from_header_service: set[str]) -> None:
    """Keep the start (and end) keywords of one origin.

    When the Header Service gives any of a group (e.g. ``DATE-BEG``), the
    writer's other members of the group (``MJD-BEG``, ``DATE-OBS``,
    ``MJD-OBS``) are recomputed from the Header Service time, so that
    ``MJD-BEG`` (which translators read first) never disagrees with the
    Header Service's ``DATE-BEG``.
    """
    for group in _TIME_GROUPS:
        keys = [k for pair in group for k in pair]
        given = [k for k in keys if k in from_header_service]
        if not given:
            continue
        moment: float | None = None
        for mjd_key, iso_key in group:
            if mjd_key in given and isinstance(merged[mjd_key].value, int | float):
                moment = (float(merged[mjd_key].value) - _MJD_UNIX_EPOCH) * 86400.0  # type: ignore[arg-type]
            elif iso_key in given and isinstance(merged[iso_key].value, str):
                moment = _iso_to_tai_unix(str(merged[iso_key].value))
            if moment is not None:
                break
        for mjd_key, iso_key in group:
            for key, make in ((mjd_key, mjd_from_tai_unix), (iso_key, tai_unix_to_isot)):
                if key in given or key not in merged:
                    continue
                if moment is None:
                    del merged[key]
                else:
                    merged[key] = Card(key, make(moment), merged[key].comment)


def bad_value_notes(changes: Iterable[HeaderChange], suffix: str = "") -> list[str]:
    """The ``HDRNOTE`` entries of the bad values among sanitation changes.

    Parameters
    ----------
    changes : iterable of `HeaderChange`
        Sanitation changes; only those with ``bad_value`` make a note.
    suffix : `str`, optional
        Appended to each note (e.g. where the value came from).
    """
    return [change.note + suffix for change in changes if change.bad_value]


def hdrnote_cards(notes: Sequence[str]) -> list[Card]:
    """The ``HDRNOTE`` card (and ``LONGSTRN`` if it needs more than one card).

    Parameters
    ----------
    notes : sequence of `str`
        The facts to record, joined with ``"; "``; made printable ASCII and
        cut to `HDRNOTE_MAX_LENGTH` characters.

    Returns
    -------
    cards : `list` [`Card`]
        Empty without notes.
    """
    if not notes:
        return []
    text = "; ".join(ascii_text(note).strip() for note in notes)
    if len(text) > HDRNOTE_MAX_LENGTH:
        text = text[: HDRNOTE_MAX_LENGTH - 4] + " ..."
    note = Card("HDRNOTE", text, "Notes on the source of the metadata")
    return [note] if fits_one_card(text) else [LONGSTRN_CARD, note]


def build_primary_header(
    camera: Camera,
    detector: Detector,
    metadata: ExposureMetadata,
    header: HeaderServiceFile | None,
    *,
    archiver_version: str,
    header_problem: str | None = None,
    notes: Sequence[str] = (),
    written_at: float | None = None,
) -> PrimaryHeader:
    """Merge the writer's and the Header Service's primary keywords.

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The instrument.
    detector : `~lsst.ts.archiver.camera.Detector`
        The detector of this file.
    metadata : `ExposureMetadata`
        The Archiver's own metadata.
    header : `HeaderServiceFile` or `None`
        The Header Service file, or None to write from the writer's
        metadata alone.
    archiver_version : `str`
        ts_archiver version (``ARCHVER``).
    header_problem : `str`, optional
        Why there is no header (``"missing"``, ``"late"``, ``"corrupt: ..."``);
        written as ``HDRNOTE`` when ``header`` is None.
    notes : sequence of `str`, optional
        Further ``HDRNOTE`` entries (e.g. bad values dropped from the
        extension sections), after the primary header's own.
    written_at : `float`, optional
        File creation time (TAI unix seconds); default now.

    Returns
    -------
    primary : `PrimaryHeader`
        Cards, source, conflicts and sanitation changes.

    Notes
    -----
    A header file whose ``OBSID`` names another image is ignored (logged as
    an error): the file is written as if there were no header, with
    ``HDRNOTE`` naming the other OBSID.

    ``HDRNOTE`` lists, in order: why there is no header (without one),
    each Header Service value dropped as bad (``DATE-BEG dropped:
    'yesterday' is not an ISO date``), each of the writer's own values
    dropped as bad (``... (Archiver's value)``), then ``notes``.
    """
    writer = sanitize_cards(
        writer_primary_cards(
            camera, detector, metadata, archiver_version=archiver_version, written_at=written_at
        )
    )
    changes = list(writer.changes)
    note_list: list[str] = []
    merged: dict[str, Card] = {c.keyword: c for c in writer.cards if c.keyword not in COMMENTARY_KEYWORDS}
    order = [c.keyword for c in writer.cards if c.keyword not in COMMENTARY_KEYWORDS]
    commentary: list[Card] = []
    conflicts: list[MergeConflict] = []
    if header is not None and header.obsid is not None and header.obsid.strip() != metadata.obsid:
        # A header of another image must not describe this one: never lose
        # the image, write it from the Archiver's metadata and say why.
        _log.error(
            "%s %s: Header Service file %s is for OBSID %r; writing the Archiver's metadata only",
            metadata.obsid,
            detector.name,
            header.source,
            header.obsid,
        )
        header_problem = f"header file is for {header.obsid.strip()[:40]}"
        header = None
    if header is not None:
        source = HeaderSource.HEADER_SERVICE
        theirs = sanitize_cards(header.primary_cards_for(detector.name), drop=_PROVENANCE_KEYWORDS)
        changes += theirs.changes
        note_list += bad_value_notes(theirs.changes)
        for card in theirs.cards:
            if card.keyword in COMMENTARY_KEYWORDS:
                commentary.append(card)
                continue
            mine = merged.get(card.keyword)
            if mine is None:
                merged[card.keyword] = card
                order.append(card.keyword)
                continue
            if isinstance(card.value, str) and not card.value.strip():
                continue  # an empty Header Service value means "unknown": keep the writer's
            writer_wins = card.keyword in WRITER_OWNED_KEYWORDS
            if not _same(mine.value, card.value):
                conflicts.append(
                    MergeConflict(
                        card.keyword, mine.value, card.value, "writer" if writer_wins else "header service"
                    )
                )
            if not writer_wins:
                merged[card.keyword] = Card(card.keyword, card.value, card.comment or mine.comment)
        _align_time_groups(merged, {c.keyword for c in theirs.cards})
        _add_camera_defaults(camera, merged, order)
        merged["HDRSRC"] = Card("HDRSRC", source.value, "Source of the exposure metadata")
        order.append("HDRSRC")
    else:
        source = HeaderSource.ARCHIVER
        _add_camera_defaults(camera, merged, order)
        merged["HDRSRC"] = Card("HDRSRC", source.value, "No Header Service header: Archiver metadata only")
        order.append("HDRSRC")
        note_list.insert(0, header_problem or "no header file")
    note_list += bad_value_notes(writer.changes, " (Archiver's value)")
    note_list += notes
    for card in hdrnote_cards(note_list):
        merged[card.keyword] = card
        order.append(card.keyword)
    if conflicts:
        _log.warning(
            "%s %s: %d primary keyword(s) differ between the Archiver and the Header Service: %s",
            metadata.obsid,
            detector.name,
            len(conflicts),
            "; ".join(str(c) for c in conflicts),
        )
    cards = tuple(merged[k] for k in dict.fromkeys(order) if k in merged) + tuple(commentary)
    return PrimaryHeader(cards, source, tuple(conflicts), tuple(changes), tuple(note_list))


def extension_extra_cards(
    header: HeaderServiceFile | None, detector: Detector, reserved: frozenset[str]
) -> tuple[dict[str, tuple[Card, ...]], list[HeaderChange], list[str]]:
    """Sanitized Header Service keywords per segment of one detector.

    Parameters
    ----------
    header : `HeaderServiceFile` or `None`
        The header file.
    detector : `~lsst.ts.archiver.camera.Detector`
        The detector.
    reserved : `frozenset` [`str`]
        Keywords the writer sets in every extension (geometry, WCS); the
        Header Service may not override them and they are dropped.

    Returns
    -------
    cards : `dict` [`str`, `tuple` [`Card`, ...]]
        Cards per segment name (``"10"``).
    changes : `list` [`HeaderChange`]
        Sanitation changes.
    notes : `list` [`str`]
        ``HDRNOTE`` entries of the bad values dropped, each naming its
        extension (``Segment07 GAIN dropped: nan is not a finite number``).
    """
    if header is None:
        return {}, [], []
    result: dict[str, tuple[Card, ...]] = {}
    changes: list[HeaderChange] = []
    notes: list[str] = []
    for segment, cards in header.segment_cards_for(detector.name).items():
        clean = sanitize_cards(cards, drop=reserved)
        result[segment] = clean.cards
        changes += clean.changes
        notes += [f"Segment{segment} {note}" for note in bad_value_notes(clean.changes)]
    return result, changes, notes
