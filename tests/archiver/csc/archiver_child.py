"""An ATArchiver in its own process, for the kill-and-restart test.

``archiver_child.py ROOT sequence N``: start the simulated LATISS system and an
ENABLED ATArchiver (configuration in ROOT/config), take N images, then wait
(the test kills this process with SIGKILL).

``archiver_child.py ROOT resume``: start an ENABLED ATArchiver only, run
``catchUp`` over the whole DAQ store, and exit 0 once the ledger shows every
complete DAQ image archived.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from pathlib import Path


async def sequence(root: Path, n_images: int) -> None:
    from lsst.ts import salkit

    from lsst.ts.archiver.csc import ArchiverCsc
    from lsst.ts.archiver.simulators import start_simulated_system

    system = await start_simulated_system("LATISS", root / "sim")
    csc = ArchiverCsc("ATArchiver", config_dir=root / "config", initial_state=salkit.State.ENABLED)
    await csc.start_task
    print("sequence: enabled", flush=True)
    await system.take_images(n_images, exp_time=0.5)
    print("sequence: all images taken", flush=True)
    await asyncio.Event().wait()


async def resume(root: Path) -> None:
    from lsst.ts import salkit

    from lsst.ts.archiver.csc import ArchiverCsc
    from lsst.ts.archiver.daq import EmulatedDaqStore
    from lsst.ts.archiver.ledger import Ledger
    from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until

    csc = ArchiverCsc("ATArchiver", config_dir=root / "config", initial_state=salkit.State.ENABLED)
    await csc.start_task
    remote = salkit.Remote(csc.domain, "ATArchiver", include=["summaryState"])
    await remote.start_task
    await remote.cmd_catchUp.set_start(startDate="", endDate="", timeout=STD_TIMEOUT)  # type: ignore[attr-defined]
    store = EmulatedDaqStore(root / "sim" / "daq", "lat", create=False)
    # The camera simulator ran in the killed process: an image it was still
    # writing stays incomplete in the DAQ (a real camera would finish it).
    names = [image.name for image in store.list_images("raw", complete_only=True)]
    with Ledger(f"sqlite:///{root / 'ledger.sqlite3'}") as ledger:

        def archived(name: str) -> bool:
            return ledger.has_image(name) and ledger.image(name).archived_at is not None

        for name in names:  # in turn, each within the standard timeout
            await wait_until(functools.partial(archived, name), what=f"{name} archived")
        await wait_until(lambda: not ledger.unfinished_deliveries(), what="every delivery finished")
    print(f"resume: {len(names)} images archived", flush=True)
    await remote.close()
    await csc.close()


def main() -> None:
    os.environ.setdefault("LSST_SITE", "test")
    root = Path(sys.argv[1])
    if sys.argv[2] == "sequence":
        asyncio.run(sequence(root, int(sys.argv[3])))
    else:
        asyncio.run(resume(root))


if __name__ == "__main__":
    main()
