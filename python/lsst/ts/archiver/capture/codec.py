"""JSON form of `CaptureTask` and `SourceOutcome`, for a queue between hosts.

Explicit field-by-field JSON (never pickle: a queue's messages are not
trusted code). Floats keep NaN (Python's JSON extension), so pixel
statistics survive the round trip.
"""

from __future__ import annotations

__all__ = ["CodecError", "outcome_from_json", "outcome_to_json", "task_from_json", "task_to_json"]

import dataclasses
import json
from typing import Any

from ..fits import ExposureMetadata
from .status import CaptureStatus
from .task import CaptureOptions, CaptureTask, DetectorOutcome, SourceOutcome


class CodecError(ValueError):
    """A message is not a valid capture task or outcome."""


def task_to_json(task: CaptureTask) -> str:
    """Serialize a task."""
    value = dataclasses.asdict(task)
    value["detectors"] = list(task.detectors)
    value["metadata"]["extra"] = dict(task.metadata.extra)
    return json.dumps(value)


def task_from_json(text: str | bytes) -> CaptureTask:
    """Deserialize a task made by `task_to_json`.

    Raises
    ------
    CodecError
        If ``text`` is not one.
    """
    try:
        value: dict[str, Any] = json.loads(text)
        return CaptureTask(
            options=CaptureOptions(**value["options"]),
            obsid=str(value["obsid"]),
            location=str(value["location"]),
            detectors=tuple(str(d) for d in value["detectors"]),
            metadata=ExposureMetadata(**value["metadata"]),
            header_text=value["header_text"],
            header_source=str(value["header_source"]),
            header_problem=value["header_problem"],
        )
    except (ValueError, KeyError, TypeError) as e:
        raise CodecError(f"Not a capture task: {e!r} in {str(text)[:200]!r}") from e


def outcome_to_json(outcome: SourceOutcome) -> str:
    """Serialize an outcome."""
    value = dataclasses.asdict(outcome)
    for detector in value["detectors"]:
        detector["status"] = int(detector["status"])
    return json.dumps(value)


def outcome_from_json(text: str | bytes) -> SourceOutcome:
    """Deserialize an outcome made by `outcome_to_json`.

    Raises
    ------
    CodecError
        If ``text`` is not one.
    """
    try:
        value: dict[str, Any] = json.loads(text)
        detectors = tuple(
            DetectorOutcome(**{**d, "status": CaptureStatus(int(d["status"]))}) for d in value["detectors"]
        )
        return SourceOutcome(obsid=str(value["obsid"]), location=str(value["location"]), detectors=detectors)
    except (ValueError, KeyError, TypeError) as e:
        raise CodecError(f"Not a capture outcome: {e!r} in {str(text)[:200]!r}") from e
