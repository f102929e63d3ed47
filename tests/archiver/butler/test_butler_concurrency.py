"""Several writers ingesting overlapping files of the same exposure at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import IngestReport, RawIngester, open_repository
from lsst.ts.archiver.camera import LSSTCAM
from lsst.ts.archiver.testing import STD_TIMEOUT, make_primary_header, write_raw_file


def test_concurrent_ingests_of_one_exposure_leave_each_file_once(
    make_repo: Callable[..., Butler], tmp_path: Path
) -> None:
    butler = make_repo("LSSTCam")
    (tmp_path / "d").mkdir()
    names = [d.name for d in LSSTCAM.detectors[:30]]
    paths = [
        write_raw_file(tmp_path / "d", make_primary_header("LSSTCam", seq_num=41, detector=n)) for n in names
    ]
    # Three writers, each with its own Butler, with overlapping shares of the files.
    shares = [paths[:20], paths[10:], paths[::2]]
    butlers = [open_repository(tmp_path / "repo") for _ in shares]
    reports: list[IngestReport | BaseException] = [RuntimeError("not run")] * len(shares)
    barrier = threading.Barrier(len(shares))

    def run(index: int) -> None:
        barrier.wait()
        try:
            reports[index] = RawIngester(butlers[index]).ingest(shares[index])
        except BaseException as e:  # reported by the assertions below
            reports[index] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(shares))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=STD_TIMEOUT)
    for other in butlers:
        other.close()
    for report in reports:
        assert isinstance(report, IngestReport), report
        assert report.ok, report.failed
    refs = butler.query_datasets("raw", collections="LSSTCam/raw/all", instrument="LSSTCam", explain=False)
    assert sorted(r.dataId["detector"] for r in refs) == list(range(30))
    assert len(list(butler.registry.queryDimensionRecords("exposure", instrument="LSSTCam"))) == 1
