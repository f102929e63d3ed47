"""A destination whose disk is full: ENOSPC is retried, files arrive once space is back.

The destination is a real 256 kB tmpfs (``mount -t tmpfs``; the tests run as
root in CI), later grown with ``mount -o remount,size=8m`` as an operator
freeing space would.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import Exposure, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 kB tmpfs mounted for the test."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"This test mounts a tmpfs and needs root: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_full_disk_is_retried_and_files_arrive_after_space_is_freed(
    small_disk: Path, tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    exposure = exposure_factory()  # 9 files of ~98 kB: only two fit
    retry = {"max_attempts": 1000, "initial_delay": 0.05, "max_delay": 0.2}
    destinations = [destination("copy", "copy", str(small_disk), retry=retry)]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await wait_until(
                lambda: any(d.last_error and "No space left" in d.last_error for d in ledger.deliveries()),
                timeout=3 * STD_TIMEOUT,
                what="a transfer failing for lack of space",
            )
            assert any(d.stage is DeliveryStage.TRANSFER for d in ledger.deliveries())
            subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
            await service.wait_until_idle(60)
        assert all(d.stage is DeliveryStage.DONE for d in ledger.deliveries())
    key_dir = small_disk / exposure.instrument / str(exposure.day_obs) / exposure.obsid
    names = sorted(p.name for p in key_dir.iterdir())
    assert len(names) == 19 and not any(
        n.startswith(".") or "tmp" in n for n in names
    )  # no partial temp files
    for path in exposure.files.values():
        assert (key_dir / path.name).read_bytes() == path.read_bytes()
    assert sorted(f.item for f in results["files"]) == sorted([*exposure.files, "expectedSensors"])
