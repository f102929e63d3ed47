"""`Selection`: which detectors and image types a destination takes (pure).

Every destination takes, by default, every file of every image. A
destination may instead take only some detectors (``detectors``: the
science, wavefront or guider CCDs, named detectors, or a mix), e.g. the
Active Optics System, which needs the wavefront sensors only; and only some
image types (``image_types``: the camera's ``imageType``, the files'
``IMGTYPE``), e.g. Prompt Processing, which takes science images only.

An image whose type is not known when it is registered (stream mode, no
camera event) is taken by every destination: a file sent that was not needed
costs less than a science image never sent.
"""

from __future__ import annotations

__all__ = ["DETECTOR_PURPOSES", "Selection", "detector_purpose"]

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..camera import get_camera

DETECTOR_PURPOSES = ("science", "wavefront", "guider")
"""Words ``detectors`` may use for every detector of one purpose."""


@functools.lru_cache(maxsize=4096)
def detector_purpose(camera: str, detector: str) -> str:
    """``science``, ``wavefront`` or ``guider``: what a camera's detector is for.

    A camera or detector name the camera model does not know is taken as
    ``science`` (such a file is then treated like any other).
    """
    try:
        return get_camera(camera).detector(detector).purpose.value.lower()
    except (KeyError, ValueError):
        return "science"


@dataclass(frozen=True)
class Selection:
    """The detectors and image types one destination takes.

    Parameters
    ----------
    purposes : `frozenset` [`str`]
        Detector purposes taken whole (``science``, ``wavefront``,
        ``guider``).
    detectors : `frozenset` [`str`]
        Detectors taken by name (``R00_SW0`` ...), whatever their purpose.
    image_types : `frozenset` [`str`] or `None`
        Upper-case image types taken (``OBJECT`` ...); None: every type.
    """

    purposes: frozenset[str] = frozenset(DETECTOR_PURPOSES)
    detectors: frozenset[str] = frozenset()
    image_types: frozenset[str] | None = None

    @classmethod
    def from_config(
        cls, detectors: str | Sequence[str] = "all", image_types: Sequence[str] | None = None
    ) -> Selection:
        """Build from a destination's (schema-valid) ``detectors`` and ``image_types``.

        ``detectors`` is ``all``, a purpose, or a list of purposes and
        detector names.
        """
        words = [detectors] if isinstance(detectors, str) else list(detectors)
        if "all" in words:
            purposes = frozenset(DETECTOR_PURPOSES)
        else:
            purposes = frozenset(word for word in words if word in DETECTOR_PURPOSES)
        names = frozenset(word for word in words if word not in DETECTOR_PURPOSES and word != "all")
        types = None if image_types is None else frozenset(t.upper() for t in image_types)
        return cls(purposes=purposes, detectors=names, image_types=types)

    @property
    def takes_everything(self) -> bool:
        """Every detector of every image (the default)."""
        return self.purposes == frozenset(DETECTOR_PURPOSES) and self.image_types is None

    def takes_image(self, image_type: str | None) -> bool:
        """Whether images of this type are taken (an unknown type always is)."""
        if self.image_types is None or not image_type:
            return True
        return image_type.upper() in self.image_types

    def takes_detector(self, camera: str, detector: str) -> bool:
        """Whether this detector's files are taken (of an image that is taken)."""
        return detector in self.detectors or detector_purpose(camera, detector) in self.purposes

    def takes(self, camera: str, image_type: str | None, detector: str) -> bool:
        """Whether a detector's file of an image of this type is taken."""
        return self.takes_image(image_type) and self.takes_detector(camera, detector)

    def expected(self, camera: str, image_type: str | None, detectors: Iterable[str]) -> tuple[str, ...]:
        """The detectors, of those an image has, that this destination expects (in order)."""
        if not self.takes_image(image_type):
            return ()
        return tuple(name for name in detectors if self.takes_detector(camera, name))

    def describe(self) -> str:
        """A short text for logs: ``wavefront detectors of OBJECT images``."""
        if self.takes_everything:
            return "every file"
        parts = sorted(self.purposes) + sorted(self.detectors)
        what = (
            "all detectors"
            if self.purposes == frozenset(DETECTOR_PURPOSES)
            else ", ".join(parts) + " detectors"
        )
        if self.image_types is None:
            return what
        return f"{what} of {', '.join(sorted(self.image_types))} images"
