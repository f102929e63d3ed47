"""Interface definitions: components, topics, fields, Avro schemas."""

from .avro import *  # noqa: F403
from .component_info import *  # noqa: F403
from .field_info import *  # noqa: F403
from .registry import *  # noqa: F403
from .sample import *  # noqa: F403
from .topic_info import *  # noqa: F403
from .ts_xml import *  # noqa: F403
