"""Events written by a Controller."""

from __future__ import annotations

__all__ = ["ControllerEvent"]

import typing

from .write_topic import WriteTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo


class ControllerEvent(WriteTopic):
    """An event a Controller writes; `set_write` writes only on change by default.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    name : `str`
        Event name without prefix, e.g. ``summaryState``.
    """

    default_force_output = False

    def __init__(self, salinfo: SalInfo, name: str) -> None:
        super().__init__(salinfo=salinfo, attr_name="evt_" + name)
