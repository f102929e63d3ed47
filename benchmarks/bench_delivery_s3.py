"""Transfer throughput to S3 (SeaweedFS): our delivery path vs a plain boto3 upload.

Same files, same server, same parallelism (``--concurrency`` uploads at a
time), in one run:

* ours, service: `lsst.ts.archiver.delivery.DeliveryService` end to end —
  ledger (SQLite) queue and claims, MD5 of the source, ``PutObject`` with
  ``Content-MD5`` (server-side check), ``HeadObject`` size + ETag
  verification, ledger updates and result callbacks;
* ours, transfer only: `lsst.ts.archiver.delivery.Transferrer.put` (the
  verified copy without the ledger);
* reference: boto3 ``upload_file`` (default managed transfer, no
  verification) in a thread pool.

Each side uploads every file under its own prefix; the median of
``--repeat`` rounds is printed as MB/s and as a ratio to the reference.
Default run (12 files of 16 MiB, 3 rounds) < 90 s.

Usage: ``.venv/bin/python benchmarks/bench_delivery_s3.py [--files N] [--size-mib M] [--repeat R]``
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lsst.ts.archiver.delivery import DeliveryService, DestinationConfig, Transferrer, VerifyMode
from lsst.ts.archiver.ledger import Ledger, LedgerRunner
from lsst.ts.archiver.testing import TemporarySeaweedFS

INSTRUMENT = "LSSTCam"
DAY_OBS = 20261123


def make_files(directory: Path, count: int, size: int, seq_num: int) -> tuple[str, dict[str, Path]]:
    obsid = f"MC_O_{DAY_OBS}_{seq_num:06d}"
    rng = np.random.default_rng(seq_num)
    files = {}
    for index in range(count):
        detector = f"R{index // 9 + 1:02d}_S{(index % 9) // 3}{index % 3}"
        path = directory / f"{obsid}_{detector}.fits"
        # Pixel-like content: 16-bit noise around a level (compresses like real data).
        data = rng.normal(20000, 15, size // 4).astype(">i4").tobytes()
        path.write_bytes(data[:size])
        files[detector] = path
    return obsid, files


async def run_service(
    ledger_path: Path, bucket: str, prefix: str, obsid: str, files: dict[str, Path], concurrency: int
) -> float:
    config = DestinationConfig.from_dict(
        {"name": "s3", "role": "copy", "target": f"s3://{bucket}/{prefix}", "concurrency": concurrency}
    )
    with Ledger(ledger_path) as ledger:
        runner = LedgerRunner(ledger)
        service = DeliveryService(runner, [config], poll_interval=0.05)
        await service.start()
        await service.register_image(
            obsid, camera=INSTRUMENT, day_obs=DAY_OBS, expected={d: i for i, d in enumerate(files)}
        )
        start = time.perf_counter()
        for detector, path in files.items():
            await service.file_written(obsid, detector, str(path))
        await service.wait_until_idle(600, interval=0.01)
        elapsed = time.perf_counter() - start
        await service.stop()
        runner.close()
    return elapsed


def run_transferrer(bucket: str, prefix: str, obsid: str, files: dict[str, Path], concurrency: int) -> float:
    transferrer = Transferrer(f"s3://{bucket}/{prefix}/", VerifyMode.CHECKSUM)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(
            pool.map(
                lambda p: transferrer.put(str(p), f"{INSTRUMENT}/{DAY_OBS}/{obsid}/{p.name}"),
                files.values(),
            )
        )
    return time.perf_counter() - start


def run_boto3(
    client: Any, bucket: str, prefix: str, obsid: str, files: dict[str, Path], concurrency: int
) -> float:
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(
            pool.map(
                lambda p: client.upload_file(
                    str(p), bucket, f"{prefix}/{INSTRUMENT}/{DAY_OBS}/{obsid}/{p.name}"
                ),
                files.values(),
            )
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--size-mib", type=float, default=16.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    size = int(args.size_mib * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="bench_delivery_") as tmp, TemporarySeaweedFS() as server:
        os.environ.update(server.env())
        bucket = "bench"
        server.create_bucket(bucket)
        client = server.client()
        work = Path(tmp)
        obsid, files = make_files(work, args.files, size, seq_num=1)
        total_mb = sum(p.stat().st_size for p in files.values()) / 1e6
        # Warm up the server's volumes and the clients.
        run_boto3(client, bucket, "warmup", obsid, dict(list(files.items())[:2]), args.concurrency)
        times: dict[str, list[float]] = {"service": [], "transfer": [], "boto3": []}
        for round_ in range(args.repeat):
            times["boto3"].append(
                run_boto3(client, bucket, f"boto3-{round_}", obsid, files, args.concurrency)
            )
            times["transfer"].append(
                run_transferrer(bucket, f"transfer-{round_}", obsid, files, args.concurrency)
            )
            times["service"].append(
                asyncio.run(
                    run_service(
                        work / f"ledger{round_}.sqlite3",
                        bucket,
                        f"service-{round_}",
                        obsid,
                        files,
                        args.concurrency,
                    )
                )
            )
        print(
            f"S3 transfer throughput: {args.files} files x {args.size_mib:g} MiB = {total_mb:.0f} MB, "
            f"{args.concurrency} at a time, SeaweedFS on loopback, median of {args.repeat}; "
            "ratio = boto3 time / our time (> 1: ours faster)"
        )
        reference = statistics.median(times["boto3"])
        rows = [
            ("ours: DeliveryService (ledger + MD5 + PUT Content-MD5 + HEAD verify)", "service"),
            ("ours: Transferrer.put only (MD5 + PUT + HEAD verify)", "transfer"),
            ("reference: boto3 upload_file (no verification)", "boto3"),
        ]
        for label, key in rows:
            median = statistics.median(times[key])
            print(
                f"  {label:72s} {total_mb / median:8.1f} MB/s  ({median:6.2f} s)  ratio {reference / median:5.2f}"
            )


if __name__ == "__main__":
    main()
