"""The raw formatter through butler.get: whole file, one HDU, headers, compressed files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import RawIngester
from lsst.ts.archiver.metadata import make_sidecar, sidecar_path_for, write_sidecar
from lsst.ts.archiver.testing import make_primary_header, write_raw_file

RUN = "LSSTComCam/raw/all"
DATA_ID = {"instrument": "LSSTComCam", "exposure": 2026112300021, "detector": 4}


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def ingested(make_repo: Callable[..., Butler], tmp_path: Path) -> tuple[Butler, Path]:
    butler = make_repo("LSSTComCam")
    (tmp_path / "d").mkdir()
    path = write_raw_file(tmp_path / "d", make_primary_header("LSSTComCam", seq_num=21, detector="R22_S11"))
    assert RawIngester(butler).ingest([path]).ok
    return butler, path


def test_get_returns_every_hdu_with_pixels_loaded(ingested: tuple[Butler, Path]) -> None:
    butler, path = ingested
    hdul = butler.get("raw", DATA_ID, collections=RUN)
    with fits.open(path) as original:
        assert [h.header.get("EXTNAME") for h in hdul] == [h.header.get("EXTNAME") for h in original]
        for ours, theirs in zip(hdul[1:], original[1:], strict=True):
            np.testing.assert_array_equal(ours.data, theirs.data)
    assert hdul[9].header["EXTNAME"] == "Segment07"


@pytest.mark.parametrize("hdu", [5, "Segment14"])
def test_hdu_parameter_returns_primary_and_that_hdu(ingested: tuple[Butler, Path], hdu: int | str) -> None:
    butler, path = ingested
    hdul = butler.get("raw", DATA_ID, collections=RUN, parameters={"hdu": hdu})
    assert len(hdul) == 2 and hdul[0].header["OBSID"] == "CC_O_20261123_000021"
    assert hdul[1].header["EXTNAME"] == "Segment14"
    np.testing.assert_array_equal(hdul[1].data, fits.getdata(path, 5))


def test_header_component_reads_primary_or_chosen_hdu_header(ingested: tuple[Butler, Path]) -> None:
    butler, _ = ingested
    primary = butler.get("raw.header", DATA_ID, collections=RUN)
    assert isinstance(primary, fits.Header) and primary["ARCHVER"] == "0.1.0"
    segment = butler.get("raw.header", DATA_ID, collections=RUN, parameters={"hdu": 16})
    assert segment["EXTNAME"] == "Segment00"


def test_missing_hdu_is_a_clear_error(ingested: tuple[Butler, Path]) -> None:
    butler, _ = ingested
    with pytest.raises(ValueError, match="no HDU 40"):
        butler.get("raw", DATA_ID, collections=RUN, parameters={"hdu": 40})


def test_rice_compressed_file_reads_back_losslessly(make_repo: Callable[..., Butler], tmp_path: Path) -> None:
    butler = make_repo("LSSTComCam")
    header = make_primary_header("LSSTComCam", seq_num=22, detector="R22_S00")
    (tmp_path / "plain").mkdir()
    plain = write_raw_file(tmp_path / "plain", header, sidecar=False)
    compressed = tmp_path / (plain.name + ".fz")
    with fits.open(plain) as hdul:
        hdus = [fits.PrimaryHDU(header=hdul[0].header)]
        for image in hdul[1:]:
            hdus.append(fits.CompImageHDU(image.data, header=image.header, compression_type="RICE_1"))
        fits.HDUList(hdus).writeto(compressed)
    sidecar = make_sidecar(header, filename=compressed.name, size=compressed.stat().st_size)
    write_sidecar(sidecar_path_for(compressed), sidecar)
    assert RawIngester(butler).ingest([compressed]).ok
    hdul = butler.get("raw", instrument="LSSTComCam", exposure=2026112300022, detector=0, collections=RUN)
    np.testing.assert_array_equal(hdul[1].data, fits.getdata(plain, 1))
