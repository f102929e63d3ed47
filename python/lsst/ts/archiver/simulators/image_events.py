"""Field values of the camera's image-sequence events (pure, no SAL).

`ImageIdentity` is the block that starts ``startIntegration``,
``startReadout``, ``endReadout`` and ``endOfImageTelemetry``;
`readout_parameters` gives the fields of ``imageReadoutParameters``.
"""

from __future__ import annotations

__all__ = ["CCD_TYPE_CODES", "ImageIdentity", "readout_parameters"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..camera import Detector, ImageName
from .key_values import additional_keys_values, join_list

CCD_TYPE_CODES: dict[str, int] = {"E2V": 1, "ITL": 2}
"""``imageReadoutParameters.ccdType`` per vendor."""

# imageReadoutParameters array field -> DAQ sequencer register.
_REGISTER_FIELDS: dict[str, str] = {
    "overRows": "OverRows",
    "overCols": "OverCols",
    "readRows": "ReadRows",
    "readCols": "ReadCols",
    "readCols2": "ReadCols2",
    "preCols": "PreCols",
    "preRows": "PreRows",
    "postCols": "PostCols",
    "underCols": "UnderCols",
}


@dataclass(frozen=True)
class ImageIdentity:
    """The image-identity block of the camera's image events.

    Parameters
    ----------
    name : `ImageName`
        The image name.
    images_in_sequence : `int`
        Images requested by the ``takeImages`` call.
    index : `int`
        1-based index of this image in the sequence.
    additional : `~collections.abc.Mapping` [`str`, `str`]
        Extra keys (``imageType``, ``groupId`` ...).
    acquisition_start : `float`
        Effective start of acquisition, TAI unix seconds.
    """

    name: ImageName
    images_in_sequence: int
    index: int
    additional: Mapping[str, str]
    acquisition_start: float

    def event_fields(self) -> dict[str, Any]:
        """The block's fields, by SAL field name."""
        keys, values = additional_keys_values(self.additional)
        return {
            "additionalKeys": keys,
            "additionalValues": values,
            "imagesInSequence": self.images_in_sequence,
            "imageName": str(self.name),
            "imageIndex": self.index,
            "imageSource": self.name.camera_code,
            "imageController": self.name.controller,
            "imageDate": self.name.day_obs_str,
            "imageNumber": self.name.seq_num,
            "timestampAcquisitionStart": self.acquisition_start,
        }


def readout_parameters(
    image_name: str,
    detectors: Sequence[Detector],
    registers: Mapping[str, int],
    *,
    slots: int,
    folder: str,
    annotation: str,
) -> dict[str, Any]:
    """The fields of ``imageReadoutParameters`` for one image.

    Parameters
    ----------
    image_name : `str`
        The image name.
    detectors : sequence of `Detector`
        Detectors read, in the order to report them.
    registers : `~collections.abc.Mapping` [`str`, `int`]
        Register values overriding each vendor's geometry (empty: the real
        geometry).
    slots : `int`
        Array length of the topic (1 for ATCamera, which has scalars).
        Detectors beyond it are listed in ``ccdLocation`` but have no array
        entries.
    folder, annotation : `str`
        DAQ folder and annotation.

    Returns
    -------
    fields : `dict` [`str`, ...]
        By SAL field name; arrays are lists of length ``slots`` (scalars if
        ``slots`` is 1).
    """
    arrays: dict[str, list[int]] = {"ccdType": [0] * slots} | {f: [0] * slots for f in _REGISTER_FIELDS}
    for i, det in enumerate(detectors[:slots]):
        regs = det.layout.registers() | dict(registers)
        arrays["ccdType"][i] = CCD_TYPE_CODES.get(det.physical_type, 0)
        for field_name, register in _REGISTER_FIELDS.items():
            arrays[field_name][i] = int(regs.get(register, 0))
    values: dict[str, Any] = {
        "imageName": image_name,
        "ccdLocation": join_list(d.name for d in detectors),
        "raftBay": join_list(d.raft for d in detectors),
        "ccdSlot": join_list(d.sensor for d in detectors),
        "daqFolder": folder,
        "daqAnnotation": annotation,
    }
    for field_name, array in arrays.items():
        values[field_name] = array[0] if slots == 1 else array
    return values
