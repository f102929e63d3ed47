"""A delivery process killed (SIGKILL) between transfer and ingest loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from delivery_test_support import FAST_RETRY, Exposure, ledger_runner, make_service

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.testing import wait_until_sync


async def test_killed_between_transfer_and_ingest_resumes_without_loss_or_duplicates(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "oods").mkdir()
    exposure = exposure_factory()
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    configs = [
        {
            "name": "oods",
            "role": "oods",
            "target": str(tmp_path / "oods"),
            "retry": FAST_RETRY,
            "lease": 3600,
            "butler": {"repo": str(tmp_path / "oods_repo")},
        }
    ]
    (tmp_path / "destinations.json").write_text(json.dumps(configs))
    (tmp_path / "exposure.json").write_text(
        json.dumps(
            {
                "obsid": exposure.obsid,
                "instrument": exposure.instrument,
                "day_obs": exposure.day_obs,
                "expected": exposure.expected,
                "manifest": str(exposure.manifest),
                "files": {k: str(v) for k, v in exposure.files.items()},
            }
        )
    )
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("crash_child.py")),
            ledger_url,
            str(tmp_path / "destinations.json"),
            str(tmp_path / "exposure.json"),
            str(marker),
        ],
        stderr=subprocess.PIPE,
    )

    def stopped_between_transfer_and_ingest() -> bool:
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        return marker.exists()

    try:
        wait_until_sync(
            stopped_between_transfer_and_ingest, what="the child to stop between transfer and ingest"
        )
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with Ledger(ledger_url) as ledger, ledger_runner(ledger) as runner:
        before = {d.item: d for d in ledger.deliveries()}
        assert {d.stage for k, d in before.items() if k != "expectedSensors"} == {DeliveryStage.INGEST}
        assert any(d.claimed_by for d in before.values())  # claims left by the dead worker
        from lsst.ts.archiver.delivery import DestinationConfig

        service = make_service(runner, [DestinationConfig.from_dict(configs[0])], results)
        async with service:
            await service.wait_until_idle(60)
        after = {d.item: d for d in ledger.deliveries()}
    assert all(d.stage is DeliveryStage.DONE for d in after.values())
    # Nothing was transferred again: the transfers recorded before the kill stand.
    assert {k: d.transferred_at for k, d in after.items()} == {k: d.transferred_at for k, d in before.items()}
    assert sorted(r.status_code for r in results["oods"]) == [0] * 9
    assert sorted(f.item for f in results["files"]) == sorted(
        exposure.files
    )  # manifest finished before the kill
    (archived,) = results["archived"]
    assert archived.archived_sensors == 9
    key_dir = tmp_path / "oods" / exposure.instrument / str(exposure.day_obs) / exposure.obsid
    assert len(list(key_dir.iterdir())) == 19
    butler = open_repository(tmp_path / "oods_repo", writeable=False)
    refs = butler.query_datasets(
        "raw", collections=raw_run(exposure.instrument), instrument=exposure.instrument
    )
    butler.close()
    assert len(refs) == 9 and len({ref.dataId["detector"] for ref in refs}) == 9
