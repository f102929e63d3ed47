"""lsst.ts.salkit: a SAL toolkit with the API shape of ts_salobj v8.

Typical use::

    from lsst.ts import salkit

    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", index=1)
        await remote.start_task
        await remote.cmd_setScalars.set_start(int0=5, timeout=10)
"""

from .base_csc import *  # noqa: F403
from .base_csc_test_case import *  # noqa: F403
from .configurable_csc import *  # noqa: F403
from .controller import *  # noqa: F403
from .csc_cmdline import *  # noqa: F403
from .csc_commander import *  # noqa: F403
from .csc_utils import *  # noqa: F403
from .domain import *  # noqa: F403
from .enums import *  # noqa: F403
from .errors import *  # noqa: F403
from .interface import *  # noqa: F403
from .remote import *  # noqa: F403
from .sal_info import *  # noqa: F403
from .sal_log_handler import *  # noqa: F403
from .tai import *  # noqa: F403
from .testutils import *  # noqa: F403
from .topics import *  # noqa: F403
from .transport import *  # noqa: F403
from .wait import *  # noqa: F403
