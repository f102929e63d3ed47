"""A ComCam sequence through the CCArchiver: every event, every file in both Butler repos."""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.io import fits
from lsst.daf.butler import Butler
from lsst.ts import salkit

from lsst.ts.archiver.camera import LSST_COMCAM, ImageName
from lsst.ts.archiver.csc import ArchiverCsc
from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.local_config import local_site_config
from lsst.ts.archiver.simulators import start_simulated_system
from lsst.ts.archiver.testing import EventLog, result_remote, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver with the simulated camera, end to end

N_IMAGES = 2


async def test_comcam_sequence_publishes_every_event_and_reaches_both_repos(tmp_path: Path) -> None:
    system = await start_simulated_system("LSSTComCam", tmp_path / "sim")
    # Besides the OODS and the DBB, a Camera Diagnostic Cluster that takes one detector of flats.
    (tmp_path / "cdc").mkdir()
    cdc = {
        "name": "cdc",
        "role": "cdc",
        "target": str(tmp_path / "cdc"),
        "detectors": ["R22_S11"],
        "image_types": ["FLAT"],
    }
    destinations = [*local_site_config(tmp_path)["destinations"], cdc]
    config_dir = write_config_dir(
        "CCArchiver", tmp_path, daq={"root": str(tmp_path / "sim" / "daq")}, destinations=destinations
    )
    csc = ArchiverCsc("CCArchiver", config_dir=config_dir, initial_state=salkit.State.ENABLED)
    try:
        await csc.start_task
        assert csc.summary_state == salkit.State.ENABLED
        remote = result_remote(csc.domain, "CCArchiver")
        await remote.start_task
        log = EventLog(remote)
        names = await system.take_images(N_IMAGES, exp_time=1.0, key_values={"imageType": "FLAT"})
        for count in range(1, N_IMAGES + 1):  # in turn, each within the standard timeout
            archived = await log.wait_for("evt_imageArchived", count)
        # imageArchived is about the DBB; the OODS may finish a little later.
        await log.wait_for("evt_imageInOODS", 9 * N_IMAGES)
        await log.wait_for("tel_focalPlaneCapture", N_IMAGES)
        await log.wait_for("evt_imageDelivered", 3 * N_IMAGES)
    finally:
        await csc.close()
        await system.close()

    detectors = {d.name for d in LSST_COMCAM.detectors}
    assert sorted(a.obsid for a in archived) == sorted(names)
    for obsid in names:
        retrievals = log.of("evt_imageRetrievalForArchiving", obsid)
        assert len(retrievals) == 9
        assert {f"{r.raft}_{r.sensor}" for r in retrievals} == detectors
        for r in retrievals:
            assert (r.camera, r.archiverName, r.statusCode) == ("LSSTComCam", "CCArchiver", 0)
            assert r.description.endswith("bytes)")
        in_oods = log.of("evt_imageInOODS", obsid)
        assert len(in_oods) == 9
        assert {f"{r.raft}_{r.sensor}" for r in in_oods} == detectors
        assert all(r.statusCode == 0 and r.camera == "LSSTComCam" for r in in_oods)
        [done] = log.of("evt_imageArchived", obsid)
        assert (done.expectedSensors, done.archivedSensors, done.missingSensors, done.statusCode) == (
            9,
            9,
            "",
            0,
        )
        delivered = {d.destination: d for d in log.of("evt_imageDelivered", obsid)}
        assert sorted(delivered) == ["cdc", "dbb", "oods"]
        assert {d.role for d in delivered.values()} == {"cdc", "dbb", "oods"}
        assert (delivered["cdc"].expectedSensors, delivered["cdc"].deliveredSensors) == (1, 1)
        assert (delivered["oods"].expectedSensors, delivered["oods"].deliveredSensors) == (9, 9)
        assert all(d.statusCode == 0 and d.missingSensors == "" for d in delivered.values())
        [capture] = log.of("tel_focalPlaneCapture", obsid)
        assert list(capture.detector) == list(range(9))
        assert list(capture.status) == [0] * 9
        assert all(size > 70_000_000 for size in capture.bytesWritten)
        assert all(15_000 < m < 25_000 for m in capture.medianSignal)
        assert all(3.0 < n < 10.0 for n in capture.noise)
        assert all(t > 0 for t in capture.retrievalTime) and all(t > 0 for t in capture.writeTime)
        assert all(t > 0 for t in capture.deliveryTime) and all(t > 0 for t in capture.ingestTime)

    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as ledger:
        deliveries = ledger.deliveries()
        assert {d.stage for d in deliveries} == {DeliveryStage.DONE}
        # 9 detectors + the manifest, per image, at the OODS and the DBB; one detector and its
        # manifest at the CDC: no duplicates.
        assert len(deliveries) == N_IMAGES * (10 * 2 + 2)
        assert all(ledger.image(name).header_source == "HeaderService" for name in names)
        assert all(ledger.image(name).image_type == "FLAT" for name in names)
        # The MD5 computed while each file was written is recorded with it.
        checksums = [d.checksum for name in names for d in ledger.detectors(name)]
        assert len(checksums) == 9 * N_IMAGES and all(c and c.startswith("md5:") for c in checksums)

    for repo in ("repo-oods", "repo-dbb"):
        butler = Butler.from_config(str(tmp_path / repo), collections=["LSSTComCam/raw/all"])
        try:
            refs = list(butler.query_datasets("raw", instrument="LSSTComCam", limit=None))
            assert len(refs) == N_IMAGES * 9
            for obsid in names:
                exposure = ImageName.parse(obsid).exposure_id
                for detector in LSST_COMCAM.detectors:
                    hdul = butler.get("raw", instrument="LSSTComCam", exposure=exposure, detector=detector.id)
                    assert isinstance(hdul, fits.HDUList)
                    assert hdul[0].header["OBSID"] == obsid
                    assert hdul[0].header["RAFTBAY"] + "_" + hdul[0].header["CCDSLOT"] == detector.name
                    assert hdul[0].header["HDRSRC"] == "HeaderService"
                    assert hdul[0].header["IMGTYPE"] == "FLAT"
                    assert len(hdul) == 17
        finally:
            butler.close()
