"""Transports: the abstract interface, the factory and the in-memory one."""

from .base import *  # noqa: F403
from .factory import *  # noqa: F403
from .memory import *  # noqa: F403
