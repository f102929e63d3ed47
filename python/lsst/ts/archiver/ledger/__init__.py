"""The ledger: durable state of images, detector files and deliveries.

SQLite by default (WAL, busy timeout), PostgreSQL at scale (psycopg 3).
Blocking API (`Ledger`, a facade over one manager per concept: `ImageManager`,
`QueueManager`, `ReportManager`, `LockManager`, `ExposureManager`, `WorkerRegistry`, sharing one `LedgerDatabase`);
asyncio code reaches it only through one `LedgerRunner` (a bounded thread
pool). Never imports salkit.
"""

from .database import LedgerDatabase as LedgerDatabase
from .engine import *  # noqa: F403
from .errors import *  # noqa: F403
from .exposures import *  # noqa: F403
from .images import *  # noqa: F403
from .ledger import *  # noqa: F403
from .locks import *  # noqa: F403
from .queue import *  # noqa: F403
from .records import *  # noqa: F403
from .reports import *  # noqa: F403
from .runner import *  # noqa: F403
from .schema import SCHEMA_VERSION as SCHEMA_VERSION
from .states import *  # noqa: F403
from .workers import *  # noqa: F403
