"""LATISS raw files always carry ``GRATING``, so obs_lsst's physical filter is ``FILTER~GRATING``."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsst.ts.archiver.camera import LATISS
from lsst.ts.archiver.fits import (
    Card,
    ExposureMetadata,
    HeaderServiceFile,
    RawFitsWriter,
    WrittenFile,
    build_primary_header,
)
from lsst.ts.archiver.metadata import read_sidecar, translate_primary_header
from lsst.ts.archiver.testing import TAI_BEGIN, amplifier_pixels, open_verified

OBSID = "AT_O_20260315_000051"
DETECTOR = LATISS.detector(0)


def camera_metadata() -> ExposureMetadata:
    # What ATCamera's events say: no filter, no grating (only the Header Service reads the spectrograph).
    return ExposureMetadata(
        obsid=OBSID, imgtype="OBJECT", exptime=30.0, date_beg=TAI_BEGIN, date_end=TAI_BEGIN + 30.0
    )


def header_service(*cards: Card) -> HeaderServiceFile:
    return HeaderServiceFile(primary=(Card("OBSID", OBSID), *cards), source="hs.yaml")


def write(directory: Path, header: HeaderServiceFile | None) -> WrittenFile:
    return RawFitsWriter().write(
        directory,
        LATISS,
        DETECTOR,
        amplifier_pixels(DETECTOR),
        camera_metadata(),
        header,
        written_at=TAI_BEGIN + 40,
    )


def test_a_latiss_file_with_the_header_services_grating_translates_to_filter_tilde_grating(
    tmp_path: Path,
) -> None:
    written = write(tmp_path, header_service(Card("FILTER", "SDSSg_65mm"), Card("GRATING", "holo4_003")))
    with open_verified(written.path) as hdus:
        primary = hdus[0].header
        assert (primary["FILTER"], primary["GRATING"]) == ("SDSSg_65mm", "holo4_003")
        observation = translate_primary_header(dict(primary), filename=written.path.name)
    assert observation["physical_filter"] == "SDSSg_65mm~holo4_003"
    assert written.sidecar_path is not None
    assert read_sidecar(written.sidecar_path).physical_filter == "SDSSg_65mm~holo4_003"


def test_a_latiss_file_without_a_header_service_grating_still_has_one(tmp_path: Path) -> None:
    written = write(tmp_path, header_service(Card("FILTER", "SDSSr_65mm")))
    with open_verified(written.path) as hdus:
        primary = hdus[0].header
        assert primary["GRATING"] == "empty"
        observation = translate_primary_header(dict(primary), filename=written.path.name)
    assert observation["physical_filter"] == f"{primary['FILTER']}~{primary['GRATING']}" == "SDSSr_65mm~empty"


def test_a_latiss_file_from_the_archivers_metadata_alone_has_a_grating(tmp_path: Path) -> None:
    written = write(tmp_path, None)
    with open_verified(written.path) as hdus:
        assert hdus[0].header["HDRSRC"] == "Archiver" and hdus[0].header["GRATING"] == "empty"


@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_header_service_grating_is_replaced_by_the_default(value: str) -> None:
    primary = build_primary_header(
        LATISS, DETECTOR, camera_metadata(), header_service(Card("GRATING", value)), archiver_version="x"
    )
    assert primary.as_dict()["GRATING"] == "empty" and primary.conflicts == ()


def test_the_header_services_grating_replaces_the_default_without_a_conflict() -> None:
    primary = build_primary_header(
        LATISS,
        DETECTOR,
        camera_metadata(),
        header_service(Card("GRATING", "ronchi170lpmm")),
        archiver_version="x",
    )
    assert primary.as_dict()["GRATING"] == "ronchi170lpmm" and primary.conflicts == ()
