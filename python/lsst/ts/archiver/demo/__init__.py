"""``make demo``: the whole chain on the embedded default, in one process.

Camera simulator + DAQ emulator + Header Service simulator + a ComCam
Archiver (CCArchiver) on the in-memory SAL transport, SQLite ledger and
Butler repositories and local directories under ``./demo/``. See
`lsst.ts.archiver.demo.run_demo`.
"""

from .progress import *  # noqa: F403
from .run import *  # noqa: F403
