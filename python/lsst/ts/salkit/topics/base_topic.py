"""Base class of all topics: names, metadata and data type."""

from __future__ import annotations

__all__ = ["BaseTopic"]

import typing

from ..interface import BaseSample, TopicInfo

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo


class BaseTopic:
    """A topic of a SalInfo, read or written.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo that owns this topic.
    attr_name : `str`
        Attribute name: ``cmd_<name>``, ``evt_<name>``, ``tel_<name>`` or
        ``ack_ackcmd``.

    Attributes
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    topic_info : `TopicInfo`
        Interface of the topic (also available as ``metadata``).
    name : `str`
        Topic name without prefix.
    attr_name : `str`
        Attribute name.
    sal_name : `str`
        SAL topic name.
    DataType : `type`
        Data class of samples.

    Raises
    ------
    KeyError
        If the component has no such topic.
    """

    def __init__(self, *, salinfo: SalInfo, attr_name: str) -> None:
        try:
            topic_info = salinfo.component_info.topics[attr_name]
        except KeyError:
            raise KeyError(
                f"Component {salinfo.name} has no topic {attr_name!r}; "
                f"known: {sorted(salinfo.component_info.topics)}"
            ) from None
        self.salinfo = salinfo
        self.topic_info: TopicInfo = topic_info
        self.name = topic_info.name
        self.attr_name = attr_name
        self.sal_name = topic_info.sal_name
        self.DataType: type[BaseSample] = topic_info.DataType
        self.log = salinfo.log.getChild(attr_name)

    @property
    def metadata(self) -> TopicInfo:
        """Interface of the topic (salobj's name for it)."""
        return self.topic_info

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.salinfo.name_index}, {self.attr_name})"
