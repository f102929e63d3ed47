"""Translation before a file is committed: what ingest could not take is refused
up front, and any translator failure is a `SidecarError` (the writer's cue to
fall back to the Archiver's own metadata)."""

from __future__ import annotations

import pytest

from lsst.ts.archiver.metadata import (
    PHYSICAL_FILTER_MAX_LENGTH,
    ArchiverTranslator,
    SidecarError,
    make_sidecar,
    translate_primary_header,
)
from lsst.ts.archiver.testing import make_primary_header


def test_translation_gives_what_the_sidecar_holds() -> None:
    header = make_primary_header("LSSTComCam", detector="R22_S11")
    observation = translate_primary_header(header, filename="/staging/x.fits")
    assert observation == dict(make_sidecar(header, filename="x.fits", size=1).observation)
    assert observation["physical_filter"] == "r_03"


def test_a_physical_filter_of_the_registry_length_is_accepted() -> None:
    name = "f" * PHYSICAL_FILTER_MAX_LENGTH
    header = make_primary_header("LSSTCam", detector="R22_S11", physical_filter=name)
    assert translate_primary_header(header, filename="x.fits")["physical_filter"] == name


def test_a_physical_filter_longer_than_a_registry_holds_is_refused() -> None:
    header = make_primary_header("LSSTCam", detector="R22_S11", physical_filter="f" * 33)
    with pytest.raises(SidecarError, match=r"x\.fits.*physical_filter.*33 characters, more than the 32"):
        translate_primary_header(header, filename="x.fits")


def test_a_latiss_filter_and_grating_too_long_together_are_refused() -> None:
    header = make_primary_header("LATISS", physical_filter="f" * 20)
    header["GRATING"] = "g" * 20
    with pytest.raises(SidecarError, match="41 characters"):
        translate_primary_header(header, filename="x.fits")


def test_any_translator_failure_is_a_sidecar_error_without_class_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: ArchiverTranslator) -> str:
        raise ZeroDivisionError("a translator bug")

    monkeypatch.setattr(ArchiverTranslator, "to_exposure_group", broken)
    header = make_primary_header("LSSTComCam", detector="R22_S11")
    with pytest.raises(SidecarError, match="exposure_group.*a translator bug") as caught:
        translate_primary_header(header, filename="x.fits")
    assert "<class" not in str(caught.value)
