"""An Archiver in its own process, for the SIGKILL rows of doc/reliability.rst.

``fault_child.py ROOT COMPONENT archive NAME``: start an ENABLED Archiver
(configuration in ``ROOT/config``), command ``archiveImage NAME``, print
``archiving NAME`` and wait (the test kills this process group with SIGKILL).

``fault_child.py ROOT COMPONENT resume NAME...``: start an ENABLED Archiver
(which resumes every unfinished image from the ledger), and exit 0 once the
ledger shows every NAME archived and no delivery unfinished.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path


async def archive(root: Path, component: str, name: str) -> None:
    from lsst.ts import salkit

    from lsst.ts.archiver.csc import ArchiverCsc
    from lsst.ts.archiver.testing import STD_TIMEOUT

    csc = ArchiverCsc(component, config_dir=root / "config", initial_state=salkit.State.ENABLED)
    await csc.start_task
    remote = salkit.Remote(csc.domain, component, include=["summaryState"])
    await remote.start_task
    await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)  # type: ignore[attr-defined]
    print(f"archiving {name}", flush=True)
    await asyncio.Event().wait()


async def resume(root: Path, component: str, names: list[str]) -> None:
    from lsst.ts import salkit

    from lsst.ts.archiver.csc import ArchiverCsc
    from lsst.ts.archiver.ledger import Ledger
    from lsst.ts.archiver.testing import wait_until

    csc = ArchiverCsc(component, config_dir=root / "config", initial_state=salkit.State.ENABLED)
    await csc.start_task
    with Ledger(f"sqlite:///{root / 'ledger.sqlite3'}", create=False) as ledger:

        def done() -> bool:
            archived = all(ledger.image(n).archived_at is not None for n in names)
            return archived and not ledger.unfinished_deliveries()

        await wait_until(lambda: asyncio.to_thread(done), what=f"{', '.join(names)} archived and delivered")
    print(f"resume: {len(names)} image(s) archived", flush=True)
    await csc.close()


def main() -> None:
    os.environ.setdefault("LSST_SITE", "test")
    from lsst.ts import salkit

    salkit.set_test_topic_subname()
    root, component, action, *names = sys.argv[1:]
    if action == "archive":
        asyncio.run(archive(Path(root), component, names[0]))
    else:
        asyncio.run(resume(Path(root), component, names))


if __name__ == "__main__":
    main()
