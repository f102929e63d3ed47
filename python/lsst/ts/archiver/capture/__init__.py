"""Capture: read one DAQ source, decode it, write each detector's raw FITS file.

A capture task (`CaptureTask`) covers one DAQ source (one REB, 1-3 CCDs).
`capture_source` runs it in a worker process and returns a `SourceOutcome`
with one `DetectorOutcome` per detector (status, file, size, timings,
pixel statistics). `LocalCapturePool` runs tasks in a spawn-safe process
pool behind the `CapturePool` interface; `RedisCapturePool` hands them to
``run_archiver_worker`` processes (`RedisCaptureWorker`) on any host through
Redis Streams consumer groups. Both report their workers' joins, state
changes and losses as `WorkerStatus` records to a callback. Nothing here imports salkit.
"""

from .codec import *  # noqa: F403
from .pool import *  # noqa: F403
from .redis_pool import *  # noqa: F403
from .redis_queue import *  # noqa: F403
from .redis_worker import *  # noqa: F403
from .stats import *  # noqa: F403
from .status import *  # noqa: F403
from .task import *  # noqa: F403
from .worker import *  # noqa: F403
from .worker_status import *  # noqa: F403
