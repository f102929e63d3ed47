"""Headers of the amplifier image extensions and of the REB_COND extension.

The amplifier headers depend only on the detector (vendor geometry, raft,
slot), never on the exposure, so they are rendered once per detector and
cached (`extension_templates`).
"""

from __future__ import annotations

__all__ = [
    "EXTENSION_KEYWORDS",
    "REB_COND_EXTNAME",
    "amplifier_cards",
    "extension_templates",
    "reb_cond_template",
]

import functools

from ..camera import Amplifier, Detector
from .card import Card
from .hdu import HeaderTemplate, empty_table_cards, image_extension_cards
from .pixel_wcs import pixel_wcs_cards

REB_COND_EXTNAME = "REB_COND"
"""EXTNAME of the extension carrying REB telemetry keywords."""

_COMMENTS = {
    "EXTNAME": "Extension name",
    "CHANNEL": "Output channel (1-based, HDU order)",
    "CCDSUM": "Binning factors (serial, parallel)",
    "DATASEC": "Imaging area of the amplifier image",
    "DETSEC": "Position of the imaging area in the CCD",
    "DETSIZE": "Size of the CCD",
    "DTV1": "Detector transformation vector",
    "DTV2": "Detector transformation vector",
    "DTM1_1": "Detector transformation matrix",
    "DTM2_2": "Detector transformation matrix",
    "DTM1_2": "Detector transformation matrix",
    "DTM2_1": "Detector transformation matrix",
}


def amplifier_cards(detector: Detector, amplifier: Amplifier) -> list[Card]:
    """All cards of one amplifier extension header, structural ones first.

    Parameters
    ----------
    detector : `~lsst.ts.archiver.camera.Detector`
        The detector (vendor, raft and slot select the WCS values).
    amplifier : `~lsst.ts.archiver.camera.Amplifier`
        The amplifier (segment geometry).

    Returns
    -------
    cards : `list` [`Card`]
        Structural cards, the CCS geometry keywords (``EXTNAME``,
        ``CHANNEL``, ``CCDSUM``, ``DATASEC``, ``DETSEC``, ``DETSIZE``,
        ``DTV*``, ``DTM*``) and the pixel WCS sets.
    """
    cards = image_extension_cards(amplifier.naxis1, amplifier.naxis2)
    cards += [Card(k, v, _COMMENTS.get(k, "")) for k, v in amplifier.header_cards().items()]
    cards += pixel_wcs_cards(detector.physical_type, amplifier.segment, detector.raft, detector.sensor)
    return cards


@functools.lru_cache(maxsize=512)
def extension_templates(detector: Detector) -> tuple[HeaderTemplate, ...]:
    """Pre-rendered headers of every amplifier extension of a detector, in HDU order.

    Parameters
    ----------
    detector : `~lsst.ts.archiver.camera.Detector`
        The detector.

    Returns
    -------
    templates : `tuple` [`HeaderTemplate`, ...]
        One per amplifier (16, or 8 for a wavefront half).
    """
    return tuple(HeaderTemplate.from_cards(amplifier_cards(detector, amp)) for amp in detector.amplifiers)


@functools.lru_cache(maxsize=1)
def _extension_keywords() -> frozenset[str]:
    from ..camera import LSSTCAM

    detector = LSSTCAM.detector("R22_S11")
    return frozenset(c.keyword for c in amplifier_cards(detector, detector.amplifiers[0]))


EXTENSION_KEYWORDS: frozenset[str] = _extension_keywords()
"""Keywords the writer sets in every amplifier extension (Header Service may not override)."""


@functools.lru_cache(maxsize=1)
def reb_cond_template() -> HeaderTemplate:
    """Structural part of the ``REB_COND`` extension (an empty BINTABLE)."""
    return HeaderTemplate.from_cards(empty_table_cards(REB_COND_EXTNAME))
