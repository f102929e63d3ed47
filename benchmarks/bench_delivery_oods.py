"""One LSSTCam exposure (205 files) delivered to a local OODS area with direct ingest.

Same files, same kind of fresh SQLite repository, in one run:

* ours: `lsst.ts.archiver.delivery.DeliveryService` end to end — ledger
  (SQLite) registration and queue, verified copies (size + MD5 re-read)
  4 at a time, one direct-ingest batch per exposure as files arrive, result
  callbacks, until ``imageArchived``;
* reference: ``shutil.copy`` of every file and sidecar, then one
  ``RawIngester.ingest`` batch (no ledger, no verification, no retries).

Prints the wall time per exposure (median of ``--repeat``) and the ratio.
Default run < 60 s.

Usage: ``.venv/bin/python benchmarks/bench_delivery_oods.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from lsst.ts.archiver.butler import RawIngester, create_repository
from lsst.ts.archiver.camera import LSSTCAM
from lsst.ts.archiver.delivery import DeliveryService, DestinationConfig, ImageArchived
from lsst.ts.archiver.ledger import Ledger, LedgerRunner
from lsst.ts.archiver.testing import make_primary_header, write_raw_file

DAY_OBS = 20261123


def write_exposure(directory: Path, seq_num: int) -> tuple[str, dict[str, Path]]:
    directory.mkdir(parents=True)
    files = {}
    obsid = ""
    for index, detector in enumerate(LSSTCAM.detectors):
        header = make_primary_header("LSSTCam", day_obs=DAY_OBS, seq_num=seq_num, detector=detector.name)
        obsid = str(header["OBSID"])
        files[detector.name] = write_raw_file(directory, header, shape=(64, 64), seed=index)
    return obsid, files


async def ours(work: Path, obsid: str, files: dict[str, Path]) -> float:
    (work / "oods").mkdir(parents=True)
    create_repository(work / "repo", instruments=["LSSTCam"]).close()
    config = DestinationConfig.from_dict(
        {"name": "oods", "role": "oods", "target": str(work / "oods"), "butler": {"repo": str(work / "repo")}}
    )
    done = asyncio.Event()

    def archived(result: ImageArchived) -> None:
        assert result.archived_sensors == len(files), result
        done.set()

    with Ledger(work / "ledger.sqlite3") as ledger:
        runner = LedgerRunner(ledger)
        service = DeliveryService(runner, [config], poll_interval=0.05, on_image_archived=archived)
        await service.start()
        start = time.perf_counter()
        await service.register_image(
            obsid, camera="LSSTCam", day_obs=DAY_OBS, expected={d.name: d.id for d in LSSTCAM.detectors}
        )
        for detector, path in files.items():
            await service.file_written(obsid, detector, str(path))
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - start
        await service.stop()
        runner.close()
    return elapsed


def reference(work: Path, obsid: str, files: dict[str, Path]) -> float:
    butler = create_repository(work / "repo", instruments=["LSSTCam"])
    ingester = RawIngester(butler, transfer="direct")
    start = time.perf_counter()
    target = work / "oods" / "LSSTCam" / str(DAY_OBS) / obsid
    target.mkdir(parents=True)
    copies = []
    for path in files.values():
        shutil.copy(path.with_suffix(".json"), target)
        copies.append(Path(shutil.copy(path, target)))
    report = ingester.ingest(copies)
    elapsed = time.perf_counter() - start
    assert report.ok, report.failed[:3]
    butler.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench_oods_") as tmp:
        root = Path(tmp)
        obsid, files = write_exposure(root / "staging", seq_num=1)
        times: dict[str, list[float]] = {"ours": [], "reference": []}
        for round_ in range(args.repeat):
            times["reference"].append(reference(root / f"ref{round_}", obsid, files))
            times["ours"].append(asyncio.run(ours(root / f"ours{round_}", obsid, files)))
        ref = statistics.median(times["reference"])
        mine = statistics.median(times["ours"])
        print(
            f"LSSTCam exposure, {len(files)} small files, local OODS area + direct ingest, median of {args.repeat}"
        )
        print(f"  ours: DeliveryService (ledger, verified copies, batch ingest, callbacks)  {mine:6.2f} s")
        print(f"  reference: shutil.copy + one RawIngester batch (no ledger/verification)  {ref:6.2f} s")
        print(f"  ratio ours/reference: {mine / ref:5.2f} (cost of durability and verification)")


if __name__ == "__main__":
    main()
