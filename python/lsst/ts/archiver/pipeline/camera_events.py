"""The Archiver's own metadata of an image, from the camera's SAL events (pure)."""

from __future__ import annotations

__all__ = ["exposure_metadata_from_events", "parse_additional_keys"]

from typing import Any

from ..camera.additional_keys import split_list
from ..fits import ExposureMetadata

_FLOAT_OR_NONE = (int, float)

#: additionalKeys that map to ExposureMetadata fields rather than extra keywords.
_KNOWN_KEYS = {"imageType": "imgtype", "groupId": "groupid"}

#: additionalKeys written as primary-header keywords (upper-cased).
_EXTRA_KEYS = {"reason": "REASON", "program": "PROGRAM", "testType": "TESTTYPE"}


def parse_additional_keys(keys: str, values: str) -> dict[str, str]:
    """Pair the camera's ':'-separated ``additionalKeys`` and ``additionalValues``.

    A ':' inside a value (e.g. an ISO time in ``groupId``) is escaped as
    ``\\:``. Extra values are ignored; missing values are blank.
    """
    names = [k.strip() for k in split_list(keys, strict=False)]
    items = split_list(values, strict=False)
    return {name: (items[i].strip() if i < len(items) else "") for i, name in enumerate(names) if name}


def _number(value: Any) -> float | None:
    if isinstance(value, _FLOAT_OR_NONE) and value == value and value > 0:
        return float(value)
    return None


def exposure_metadata_from_events(
    end_of_image: Any, start_integration: Any | None = None
) -> ExposureMetadata:
    """Build `ExposureMetadata` from ``endOfImageTelemetry`` (and ``startIntegration``).

    Parameters
    ----------
    end_of_image : sample
        The camera's ``endOfImageTelemetry`` (fields of INTERFACES.md section 2).
    start_integration : sample or `None`
        The image's ``startIntegration``, if seen.

    Returns
    -------
    metadata : `ExposureMetadata`
        Times are TAI unix seconds; unknown values are None.
    """
    additional = parse_additional_keys(end_of_image.additionalKeys, end_of_image.additionalValues)
    if start_integration is not None and not additional:
        additional = parse_additional_keys(
            start_integration.additionalKeys, start_integration.additionalValues
        )
    fields: dict[str, Any] = {}
    for key, name in _KNOWN_KEYS.items():
        if additional.get(key):
            fields[name] = additional[key].upper() if name == "imgtype" else additional[key]
    extra = {keyword: additional[key] for key, keyword in _EXTRA_KEYS.items() if additional.get(key)}
    exptime = end_of_image.exposureTime
    return ExposureMetadata(
        obsid=end_of_image.imageName,
        exptime=float(exptime) if exptime is not None and exptime >= 0 else None,
        darktime=_number(end_of_image.darkTime),
        shuttime=_number(end_of_image.measuredShutterOpenTime),
        date_beg=_number(end_of_image.timestampDateObs),
        date_end=_number(end_of_image.timestampDateEnd),
        curindex=int(end_of_image.imageIndex) if end_of_image.imageIndex > 0 else None,
        maxindex=int(end_of_image.imagesInSequence) if end_of_image.imagesInSequence > 0 else None,
        extra=extra,
        **fields,
    )
