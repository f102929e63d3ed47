"""The Header Service header file (YAML): model, parser and renderer.

The Header Service publishes, per image, one YAML file with the keywords it
collected. Its sections are a list of cards each::

    PRIMARY:                       # keywords for every file of the image
      - {keyword: OBSID, value: MC_O_20260315_000051, comment: Image name}
      - {keyword: EXPTIME, value: 30.0, comment: Exposure time}
    R22_S11_PRIMARY:               # extra primary keywords of one detector
      - {keyword: CCDTEMP, value: -95.1, comment: CCD temperature}
    R22_S11_Segment10:             # keywords of one amplifier extension
      - {keyword: GAIN, value: 1.467, comment: Amplifier gain}

``PRIMARY`` is required; ``<RAFT>_<SENSOR>_PRIMARY`` and
``<RAFT>_<SENSOR>_Segment<NN>`` sections are optional. ``comment`` may be
omitted. Values are kept as loaded (YAML timestamps stay strings); they are
sanitized when merged into a file (`sanitize_cards`), not here.

Parsing never raises anything but `CorruptHeaderError`, which names the
file and the problem.
"""

from __future__ import annotations

__all__ = [
    "HeaderServiceFile",
    "parse_header_file",
    "read_header_file",
    "render_header_file",
]

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .card import Card, CardValue
from .errors import CorruptHeaderError

PRIMARY_SECTION = "PRIMARY"
_DETECTOR_SECTION = re.compile(r"^(R\d\d_S[0-9GW]\d)_PRIMARY$")
_SEGMENT_SECTION = re.compile(r"^(R\d\d_S[0-9GW]\d)_Segment([01][0-7])$")

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _HeaderLoader(_Loader):  # type: ignore[valid-type,misc]
    """Safe loader that keeps timestamps as strings (DATE-BEG stays a string)."""


_HeaderLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class HeaderServiceFile:
    """The content of one Header Service header file.

    Parameters
    ----------
    primary : `tuple` [`Card`, ...]
        Keywords for the primary header of every file of the image.
    detectors : `dict` [`str`, `tuple` [`Card`, ...]]
        Extra primary keywords per detector name (``"R22_S11"``).
    segments : `dict` [`tuple` [`str`, `str`], `tuple` [`Card`, ...]]
        Extension keywords per (detector name, segment), e.g.
        ``("R22_S11", "10")``.
    source : `str`
        Where the file came from (path or URL), for messages.
    """

    primary: tuple[Card, ...]
    detectors: Mapping[str, tuple[Card, ...]] = field(default_factory=dict)
    segments: Mapping[tuple[str, str], tuple[Card, ...]] = field(default_factory=dict)
    source: str = "<memory>"

    @property
    def obsid(self) -> str | None:
        """The ``OBSID`` value of the primary section, if present."""
        for card in self.primary:
            if card.keyword == "OBSID" and isinstance(card.value, str):
                return card.value
        return None

    def primary_cards_for(self, detector: str) -> tuple[Card, ...]:
        """Primary keywords for one detector's file: common then detector-specific."""
        return self.primary + tuple(self.detectors.get(detector, ()))

    def segment_cards_for(self, detector: str) -> dict[str, tuple[Card, ...]]:
        """Extension keywords of one detector, keyed by segment name (``"10"``)."""
        return {seg: cards for (det, seg), cards in self.segments.items() if det == detector}


def _card_from_entry(entry: Any, section: str, index: int, source: str) -> Card:
    where = f"section {section!r} entry {index}"
    if not isinstance(entry, Mapping):
        raise CorruptHeaderError(source, f"{where} is a {type(entry).__name__}, expected a mapping "
                                         "with 'keyword', 'value' and optional 'comment'")  # fmt: skip
    unknown = set(entry) - {"keyword", "value", "comment"}
    if unknown:
        raise CorruptHeaderError(source, f"{where} has unknown fields {sorted(map(str, unknown))}")
    if "keyword" not in entry:
        raise CorruptHeaderError(source, f"{where} has no 'keyword'")
    keyword = entry["keyword"]
    if not isinstance(keyword, str) or not keyword.strip():
        raise CorruptHeaderError(source, f"{where} has keyword {keyword!r}; expected a non-empty string")
    comment = entry.get("comment", "")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        comment = str(comment)
    value: CardValue = entry.get("value")
    return Card(keyword, value, comment)


def _cards(section: str, entries: Any, source: str) -> tuple[Card, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise CorruptHeaderError(
            source, f"section {section!r} is a {type(entries).__name__}, expected a list"
        )
    return tuple(_card_from_entry(entry, section, i, source) for i, entry in enumerate(entries))


def parse_header_file(
    text: str | bytes, *, source: str = "<memory>", expected_md5: str | None = None
) -> HeaderServiceFile:
    """Parse the YAML text of a Header Service header file.

    Parameters
    ----------
    text : `str` or `bytes`
        The file content.
    source : `str`, optional
        Path or URL, used in error messages.
    expected_md5 : `str`, optional
        MD5 hex digest announced with the file (``largeFileObjectAvailable``
        ``checkSum``); checked against the bytes when given and not empty.

    Returns
    -------
    header : `HeaderServiceFile`
        The parsed sections.

    Raises
    ------
    CorruptHeaderError
        If the MD5 differs, or the text is empty, not UTF-8, not YAML, not a
        mapping, lacks ``PRIMARY``, has an unknown section or a malformed
        entry.
    """
    if expected_md5:
        data = text.encode("utf-8") if isinstance(text, str) else text
        actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if actual.lower() != expected_md5.strip().lower():
            raise CorruptHeaderError(
                source,
                f"MD5 {actual} of the {len(data)} bytes received differs from the announced {expected_md5}",
            )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorruptHeaderError(source, f"not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise CorruptHeaderError(source, "file is empty")
    try:
        data = yaml.load(text, Loader=_HeaderLoader)  # a safe loader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise CorruptHeaderError(source, f"not valid YAML{where}: {problem}") from None
    if not isinstance(data, Mapping):
        raise CorruptHeaderError(
            source, f"top level is a {type(data).__name__}, expected a mapping of sections"
        )
    if PRIMARY_SECTION not in data:
        raise CorruptHeaderError(
            source, f"no {PRIMARY_SECTION!r} section (sections: {sorted(map(str, data))})"
        )
    primary = _cards(PRIMARY_SECTION, data[PRIMARY_SECTION], source)
    if not primary:
        raise CorruptHeaderError(source, f"section {PRIMARY_SECTION!r} is empty")
    detectors: dict[str, tuple[Card, ...]] = {}
    segments: dict[tuple[str, str], tuple[Card, ...]] = {}
    for name, entries in data.items():
        if name == PRIMARY_SECTION:
            continue
        section = str(name)
        if match := _DETECTOR_SECTION.match(section):
            detectors[match.group(1)] = _cards(section, entries, source)
        elif match := _SEGMENT_SECTION.match(section):
            segments[(match.group(1), match.group(2))] = _cards(section, entries, source)
        else:
            raise CorruptHeaderError(
                source,
                f"unknown section {section!r}; expected PRIMARY, <RAFT>_<SENSOR>_PRIMARY or "
                "<RAFT>_<SENSOR>_Segment<NN>",
            )
    return HeaderServiceFile(primary, detectors, segments, source)


def read_header_file(path: str | os.PathLike[str]) -> HeaderServiceFile:
    """Read and parse a Header Service header file from disk.

    Raises
    ------
    CorruptHeaderError
        If the file cannot be read or parsed.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as stream:
            data = stream.read()
    except OSError as e:
        raise CorruptHeaderError(source, f"cannot be read: {e.strerror or e}") from None
    return parse_header_file(data, source=source)


def _entries(cards: tuple[Card, ...]) -> list[dict[str, Any]]:
    entries = []
    for card in cards:
        entry: dict[str, Any] = {"keyword": card.keyword, "value": card.value}
        if card.comment:
            entry["comment"] = card.comment
        entries.append(entry)
    return entries


def render_header_file(header: HeaderServiceFile) -> str:
    """Render a header file as YAML (the inverse of `parse_header_file`).

    Parameters
    ----------
    header : `HeaderServiceFile`
        What to write.

    Returns
    -------
    text : `str`
        YAML text; ``parse_header_file(render_header_file(h))`` returns the
        same sections and cards.
    """
    data: dict[str, Any] = {PRIMARY_SECTION: _entries(header.primary)}
    for detector, cards in header.detectors.items():
        data[f"{detector}_PRIMARY"] = _entries(cards)
    for (detector, segment), cards in header.segments.items():
        data[f"{detector}_Segment{segment}"] = _entries(cards)
    dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=None, width=1000)
