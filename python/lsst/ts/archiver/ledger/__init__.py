"""The ledger: durable state of images, detector files and deliveries.

SQLite by default (WAL, busy timeout), PostgreSQL at scale (psycopg 3).
Blocking API (`Ledger`); asyncio code uses `AsyncLedger` or runs calls in a
thread. Never imports salkit.
"""

from .async_ledger import *  # noqa: F403
from .engine import *  # noqa: F403
from .errors import *  # noqa: F403
from .ledger import *  # noqa: F403
from .records import *  # noqa: F403
from .schema import SCHEMA_VERSION as SCHEMA_VERSION
from .states import *  # noqa: F403
