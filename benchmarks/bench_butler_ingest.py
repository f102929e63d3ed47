"""Butler ingest of one LSSTCam exposure (205 files): sidecars vs reading headers.

Both paths ingest the same 205 files (small pixel arrays, realistic primary
headers of ~150 cards, 16 image extensions each, plus the JSON sidecars our
writer leaves next to them) with ``transfer="direct"`` into a fresh
repository whose instrument is already registered, on SQLite and on a
throwaway PostgreSQL cluster started by this script:

* ours: `lsst.ts.archiver.butler.RawIngester` — sidecars, one
  ``ObservationInfo`` per exposure, expanded data IDs, one batch;
* reference: the header-reading path (obs_base style, reference butler.md
  §10): ``fits.getheader`` + ``ObservationInfo`` for every file, records
  synced, one ``butler.ingest`` batch with deterministic ids.

"cold" is the first exposure in a new repository (ours also loads its
detector cache then); "warm" is a second exposure in the same repository
with the same objects, as in a running service. Median of ``--repeat`` runs.
Default run < 90 s.

Usage: ``.venv/bin/python benchmarks/bench_butler_ingest.py [--repeat N] [--no-postgres]``
"""

from __future__ import annotations

import argparse
import io
import logging
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from astro_metadata_translator import ObservationInfo
from astropy.io import fits
from lsst.daf.butler import (
    Butler,
    DataCoordinate,
    DatasetIdGenEnum,
    DatasetRef,
    FileDataset,
)

from lsst.ts.archiver.butler import (
    RawFitsFormatter,
    RawIngester,
    create_repository,
    exposure_records,
    raw_run,
)
from lsst.ts.archiver.camera import LSSTCAM
from lsst.ts.archiver.fits.card import Card, render_header
from lsst.ts.archiver.fits.hdu import primary_cards
from lsst.ts.archiver.metadata import (
    INGEST_OPTIONAL_PROPERTIES,
    INGEST_REQUIRED_PROPERTIES,
    make_sidecar,
    sidecar_path_for,
    write_sidecar,
)
from lsst.ts.archiver.testing import TemporaryPostgres, make_primary_header

INSTRUMENT = "LSSTCam"
DAY_OBS = 20261123


def realistic_header(seq_num: int, detector: str) -> dict[str, object]:
    """Our writer's keywords plus ~100 more of the kinds CCS writes (REB, DAQ, weather...)."""
    header: dict[str, object] = make_primary_header(
        INSTRUMENT, day_obs=DAY_OBS, seq_num=seq_num, detector=detector
    )
    for i in range(1, 11):
        header[f"TEMP{i}"] = -95.0 + i
    for name in ("DIGPS", "ANAPS", "ODPS", "CLKHPS", "DPHIPS", "HTRPS"):
        header[f"{name}_V"] = 5.0
        header[f"{name}_I"] = 0.5
    for i in range(40):
        header[f"CFG{i:04d}"] = f"value-{i}"
    for i in range(30):
        header[f"EXTRA{i:03d}"] = float(i)
    header.update(
        AIRTEMP=10.5, PRESSURE=744.0, HUMIDITY=20.0, WINDSPD=3.2, WINDDIR=120.0, SEEING=0.7,
        AMSTART=1.15, AMEND=1.16, HASTART=0.1, HAEND=0.2, AZEND=121.0, ELEND=59.0, FOCUSZ=0.0,
        IMAGETAG="0x1234abcd", DAQVERS="R5-V13.12", FIRMWARE="3131a00f", HEADVER=102,
    )  # fmt: skip
    return header


def extension_bytes() -> bytes:
    """The 16 image extensions (small pixel arrays), rendered once by astropy."""
    buffer = io.BytesIO()
    hdus: list[Any] = [fits.PrimaryHDU()]
    for amplifier in LSSTCAM.detector(94).amplifiers:
        image = fits.ImageHDU(np.full((16, 24), 20000, dtype=np.int32))
        image.header["EXTNAME"] = amplifier.extname
        hdus.append(image)
    fits.HDUList(hdus).writeto(buffer, checksum=True)
    return buffer.getvalue()[2880:]  # an empty primary header is one 2880-byte block


def write_exposure(directory: Path, seq_num: int, extensions: bytes) -> list[Path]:
    """Write the 205 files (fast: pre-rendered extensions) and their sidecars."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for detector in LSSTCAM.detectors:
        header = realistic_header(seq_num, detector.name)
        path = directory / str(header["FILENAME"])
        cards = primary_cards() + [Card(key, value) for key, value in header.items()]  # type: ignore[arg-type]
        path.write_bytes(render_header(cards) + extensions)
        sidecar = make_sidecar(header, filename=path.name, size=path.stat().st_size)
        write_sidecar(sidecar_path_for(path), sidecar)
        paths.append(path)
    return paths


def ingest_ours(butler: Butler, paths: list[Path], state: dict[str, object]) -> None:
    ingester = state.setdefault("ingester", RawIngester(butler, transfer="direct"))
    assert isinstance(ingester, RawIngester)
    report = ingester.ingest(paths)
    if not report.ok or len(report.ingested) != len(paths):
        raise RuntimeError(f"ours: {len(report.failed)} failed: {report.failed[:1]}")


def ingest_reference(butler: Butler, paths: list[Path], state: dict[str, object]) -> None:
    required = set(INGEST_REQUIRED_PROPERTIES)
    subset = required | set(INGEST_OPTIONAL_PROPERTIES)
    infos = [
        ObservationInfo(fits.getheader(p, 0), filename=str(p), required=required, subset=subset, quiet=True)
        for p in paths
    ]
    registry = butler.registry
    with registry.transaction():
        for info in {i.exposure_id: i for i in infos}.values():
            records = exposure_records(info)
            registry.syncDimensionData("day_obs", records.day_obs)
            registry.syncDimensionData("group", records.group)
            registry.syncDimensionData("exposure", records.exposure)
    dataset_type = butler.get_dataset_type("raw")
    run = raw_run(INSTRUMENT)
    datasets = [
        FileDataset(
            path=str(p),
            formatter=RawFitsFormatter,
            refs=[
                DatasetRef(
                    dataset_type,
                    DataCoordinate.standardize(
                        instrument=i.instrument,
                        exposure=i.exposure_id,
                        detector=i.detector_num,
                        universe=butler.dimensions,
                    ),
                    run=run,
                    id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN,
                )
            ],
        )
        for p, i in zip(paths, infos, strict=True)
    ]
    butler.ingest(*datasets, transfer="direct", skip_existing=True)


def measure(
    make_repo: Callable[[], Butler],
    method: Callable[[Butler, list[Path], dict[str, object]], None],
    exposures: tuple[list[Path], list[Path]],
    repeat: int,
) -> tuple[float, float]:
    cold, warm = [], []
    for _ in range(repeat):
        butler = make_repo()
        state: dict[str, object] = {}
        try:
            t0 = time.perf_counter()
            method(butler, exposures[0], state)
            t1 = time.perf_counter()
            method(butler, exposures[1], state)
            t2 = time.perf_counter()
        finally:
            butler.close()
        cold.append(t1 - t0)
        warm.append(t2 - t1)
    return statistics.median(cold), statistics.median(warm)


def report(backend: str, ours: tuple[float, float], reference: tuple[float, float], n_files: int) -> None:
    for label, index in (("cold", 0), ("warm", 1)):
        o, r = ours[index], reference[index]
        print(
            f"{backend:10s} {label}  ours {o:6.3f} s ({o / n_files * 1e3:5.2f} ms/file)   "
            f"headers {r:6.3f} s ({r / n_files * 1e3:5.2f} ms/file)   ratio headers/ours {r / o:5.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (median)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    logging.getLogger("lsst").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench_butler_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        extensions = extension_bytes()
        exposures = (
            write_exposure(root / "data" / "a", 1, extensions),
            write_exposure(root / "data" / "b", 2, extensions),
        )
        n_files = len(exposures[0])
        size = exposures[0][0].stat().st_size
        cards = len(fits.getheader(exposures[0][0]))
        print(
            f"{n_files} LSSTCam files per exposure ({size / 1024:.0f} kB, {cards} primary cards, 16 extensions), "
            f"written in {time.perf_counter() - t0:.1f} s"
        )
        counter = iter(range(10**6))

        def sqlite_repo() -> Butler:
            return create_repository(root / f"sqlite{next(counter)}", instruments=[INSTRUMENT])

        backends: list[tuple[str, Callable[[], Butler]]] = [("SQLite", sqlite_repo)]
        postgres = None
        if not args.no_postgres:
            postgres = TemporaryPostgres().start()
            url = postgres.create_database("bench")

            def postgres_repo() -> Butler:
                return create_repository(
                    root / f"pg{next(counter)}",
                    db=url,
                    namespace=f"bench_{secrets.token_hex(4)}",
                    instruments=[INSTRUMENT],
                )

            backends.append(("PostgreSQL", postgres_repo))
        try:
            # Warm up imports and astropy caches outside the timing.
            warm_butler = sqlite_repo()
            ingest_reference(warm_butler, exposures[0][:2], {})
            ingest_ours(warm_butler, exposures[1][:2], {})
            warm_butler.close()
            for backend, make_repo in backends:
                ours = measure(make_repo, ingest_ours, exposures, args.repeat)
                reference = measure(make_repo, ingest_reference, exposures, args.repeat)
                report(backend, ours, reference, n_files)
        finally:
            if postgres is not None:
                postgres.stop()
    print("goal: ours <= 0.3 s per 205-file exposure")


if __name__ == "__main__":
    main()
