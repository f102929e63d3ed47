"""The Archiver's read-only status page, served by the CSC on an optional port.

One concept per module:

* `snapshot`: what the page shows, read from the ledger (`StatusSnapshot`);
* `page`: its HTML (every value escaped);
* `server`: the HTTP server (standard library), started with the CSC's
  runtime when ``status_page.port`` is set (`start_status_page`).
"""

from .page import *  # noqa: F403
from .server import *  # noqa: F403
from .snapshot import *  # noqa: F403
