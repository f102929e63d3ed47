"""Files from the real FITS writer (with its sidecars) ingest and read back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import RawIngester
from lsst.ts.archiver.camera import LSSTCAM
from lsst.ts.archiver.fits import ExposureMetadata, RawFitsWriter
from lsst.ts.archiver.metadata import read_sidecar

OBSID = "MC_O_20261123_000031"


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_writer_output_is_ingested_from_its_sidecars(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTCam")
    writer = RawFitsWriter(compress=True, digest="md5")
    metadata = ExposureMetadata(
        obsid=OBSID,
        imgtype="BIAS",
        exptime=0.0,
        darktime=0.1,
        shuttime=0.0,
        date_beg=1795478400.0,
        date_end=1795478400.1,
        groupid="2026-11-24T00:00:00.000",
        curindex=1,
        maxindex=1,
        extra={"FILTER": "r_57", "REASON": "bias", "PROGRAM": "BLOCK-T1"},
    )
    written = []
    for name in ("R22_S11", "R00_SW0"):
        detector = LSSTCAM.detector(name)
        pixels = np.full(
            (detector.n_amplifiers, *detector.amplifiers[0].shape), 20000 + detector.id, np.int32
        )
        written.append(writer.write(tmp_path, LSSTCAM, detector, pixels, metadata))
    sidecar = read_sidecar(written[0].sidecar_path)
    assert sidecar.checksum is not None and sidecar.checksum.startswith("md5:")
    report = RawIngester(butler).ingest([w.path for w in written])
    assert report.ok, report.failed
    hdul = butler.get(
        "raw", instrument="LSSTCam", obs_id=OBSID, full_name="R00_SW0", collections="LSSTCam/raw/all"
    )
    assert len(hdul) == 1 + 8
    assert int(hdul[1].data[0, 0]) == 20000 + LSSTCAM.detector("R00_SW0").id
    (record,) = butler.registry.queryDimensionRecords("exposure", instrument="LSSTCam")
    assert (record.obs_id, record.observation_type, record.physical_filter) == (OBSID, "bias", "r_57")
