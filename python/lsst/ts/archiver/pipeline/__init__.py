"""Pipeline: from a camera announcement (or a command) to files captured and queued.

`ImagePipeline` registers an image in the ledger, waits (bounded) for the
DAQ and the Header Service, runs one capture task per DAQ source in the
capture pool, retries transient failures and hands every written file to
the delivery service. `HeaderTracker` follows the Header Service's
``largeFileObjectAvailable`` and fetches headers; `LateHeaders` applies a
header that arrives after the files were written (or records why not);
`camera_events` turns camera events into the Archiver's own metadata.
Staging paths, side files and cleanup are `lsst.ts.archiver.staging`.
Nothing here imports salkit.
"""

from .camera_events import *  # noqa: F403
from .headers import *  # noqa: F403
from .image_pipeline import *  # noqa: F403
from .late_header import *  # noqa: F403
from .stream_trigger import *  # noqa: F403
from .triggers import *  # noqa: F403
