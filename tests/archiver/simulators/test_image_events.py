"""Field values of the camera's image events."""

from __future__ import annotations

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM, ImageName
from lsst.ts.archiver.simulators import (
    SMALL_AMPLIFIER_REGISTERS,
    ImageIdentity,
    parse_additional,
    readout_parameters,
)


def test_identity_block_splits_the_image_name_and_escapes_extra_keys() -> None:
    fields = ImageIdentity(
        name=ImageName.parse("MC_O_20241123_000123"),
        images_in_sequence=5,
        index=2,
        additional={"imageType": "OBJECT", "groupId": "2024-11-24T01:02:03.456"},
        acquisition_start=1.5,
    ).event_fields()
    assert list(fields) == [
        "additionalKeys", "additionalValues", "imagesInSequence", "imageName", "imageIndex",
        "imageSource", "imageController", "imageDate", "imageNumber", "timestampAcquisitionStart",
    ]  # fmt: skip
    assert (fields["imageSource"], fields["imageController"], fields["imageDate"], fields["imageNumber"]) == (
        "MC", "O", "20241123", 123,
    )  # fmt: skip
    assert (
        parse_additional(fields["additionalKeys"], fields["additionalValues"])["groupId"]
        == "2024-11-24T01:02:03.456"
    )


def test_readout_parameters_give_vendor_and_geometry_per_ccd() -> None:
    detectors = list(LSSTCAM.reb("R22/Reb1").detectors) + list(LSSTCAM.reb("R01/Reb0").detectors)
    values = readout_parameters(
        "MC_O_20241123_000001", detectors, {}, slots=201, folder="raw", annotation="note"
    )
    assert values["ccdLocation"] == "R22_S10:R22_S11:R22_S12:R01_S00:R01_S01:R01_S02"
    assert values["raftBay"].split(":")[:3] == ["R22"] * 3
    assert values["ccdType"][:6] == [1, 1, 1, 2, 2, 2]  # R22 is e2v, R01 is ITL
    assert values["readCols"][:6] == [512, 512, 512, 509, 509, 509]
    assert values["underCols"][3] == 3 and values["overRows"][0] == 46
    assert len(values["readRows"]) == 201 and values["readRows"][6:] == [0] * 195
    assert (values["daqFolder"], values["daqAnnotation"]) == ("raw", "note")


def test_readout_parameters_use_register_overrides_and_scalars_for_latiss() -> None:
    values = readout_parameters(
        "AT_O_20241123_000001",
        LATISS.detectors,
        SMALL_AMPLIFIER_REGISTERS,
        slots=1,
        folder="raw",
        annotation="",
    )
    assert values["readCols"] == 8 and values["readRows"] == 6 and values["ccdType"] == 2
    comcam = readout_parameters(
        "CC_O_20241123_000001", LSST_COMCAM.detectors, {}, slots=9, folder="raw", annotation=""
    )
    assert comcam["ccdType"] == [2] * 9
