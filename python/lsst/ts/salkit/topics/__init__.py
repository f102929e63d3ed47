"""Topics: base classes and the read/write topics of Controllers and Remotes."""

from .ack_cmd import *  # noqa: F403
from .base_topic import *  # noqa: F403
from .command_info import *  # noqa: F403
from .controller_command import *  # noqa: F403
from .controller_event import *  # noqa: F403
from .controller_telemetry import *  # noqa: F403
from .read_topic import *  # noqa: F403
from .remote_command import *  # noqa: F403
from .remote_event import *  # noqa: F403
from .remote_telemetry import *  # noqa: F403
from .write_topic import *  # noqa: F403
