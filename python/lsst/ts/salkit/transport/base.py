"""Abstract transport interface: how samples move between SalInfos.

A `Transport` belongs to one `~lsst.ts.salkit.Domain`. Each
`~lsst.ts.salkit.SalInfo` of the domain asks it for one `Channel`, which
handles everything that SalInfo sends and receives for one component and
index:

* `Channel.start` creates/subscribes the read topics (delivering history,
  see `ReadTopicSpec`) and announces the write topics; it returns only after
  all history has been delivered to the receiver.
* `Channel.write` sends one sample, given as a dict of field name: value
  (every field of the topic's Avro schema, private fields included).
* Received samples are handed to the channel's `SampleReceiver`, always in
  the event loop thread that called `Channel.start`, in the order in which
  they were written on each topic.
* `Channel.close` stops delivery and releases resources.

Samples are plain data (dicts of bool, int, float, str and lists thereof).
A transport must never let a writer and a reader share a mutable object:
each reader gets its own copy (a networked transport gets that for free by
serializing). Nothing above this interface may assume in-process delivery.

A transport delivers every sample of a subscribed topic, including samples
written by the same channel (a Controller sees its own events, as with
Kafka); filtering by ``salIndex``, identity and origin is done above, in
SalInfo.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_TOPIC_SUBNAME",
    "TOPIC_SUBNAME_ENV_VAR",
    "Channel",
    "ReadTopicSpec",
    "SampleReceiver",
    "Transport",
    "TransportError",
    "get_topic_subname",
    "make_transport_topic_name",
]

import abc
import dataclasses
import logging
import os
import typing

from ..interface import ComponentInfo, TopicInfo

#: Environment variable holding the topic sub-name (the middle part of
#: ``lsst.<subname>.<Component>.<sal_name>``); production uses ``sal``.
TOPIC_SUBNAME_ENV_VAR = "LSST_TOPIC_SUBNAME"

#: Sub-name used when `TOPIC_SUBNAME_ENV_VAR` is unset and the transport
#: allows a default (the in-memory transport does; Kafka does not).
DEFAULT_TOPIC_SUBNAME = "sal"


class TransportError(RuntimeError):
    """A transport could not be created, started or used."""


def get_topic_subname(default: str | None = DEFAULT_TOPIC_SUBNAME) -> str:
    """Return the topic sub-name from ``$LSST_TOPIC_SUBNAME``.

    Parameters
    ----------
    default : `str` or `None`
        Value to use if the variable is unset or empty; None means required.

    Raises
    ------
    TransportError
        If the variable is unset or empty and ``default`` is None.
    """
    subname = os.environ.get(TOPIC_SUBNAME_ENV_VAR, "")
    if subname:
        return subname
    if default is None:
        raise TransportError(f"Environment variable ${TOPIC_SUBNAME_ENV_VAR} must be set, e.g. to 'sal'")
    return default


def make_transport_topic_name(subname: str, component_name: str, sal_name: str) -> str:
    """Return the transport-level topic name ``lsst.<subname>.<Component>.<sal_name>``."""
    return f"lsst.{subname}.{component_name}.{sal_name}"


@dataclasses.dataclass(frozen=True)
class ReadTopicSpec:
    """A topic a channel reads, and how much history to deliver at start.

    Parameters
    ----------
    topic_info : `TopicInfo`
        The topic.
    history_depth : `int`
        0: no history; deliver only samples written after the subscription.
        N > 0: at start, look at the last N samples written on the topic
        (by any writer) and deliver, for each writer key (component name and
        the writing SalInfo's index), the latest one in that window, in the
        order they were written, flagged ``is_history=True``. SalInfo passes
        1 for a non-indexed component (so exactly the last sample) and
        ``$LSST_MAX_HISTORY_READ`` (500) for an indexed one. Only events are
        ever read with history.
    """

    topic_info: TopicInfo
    history_depth: int = 0

    def __post_init__(self) -> None:
        if self.history_depth < 0:
            raise ValueError(
                f"history_depth={self.history_depth} for {self.topic_info.sal_name}; must be >= 0"
            )


class SampleReceiver(typing.Protocol):
    """Callable a channel calls for each received sample.

    Parameters
    ----------
    sal_name : `str`
        SAL topic name, e.g. ``logevent_summaryState``.
    data : `dict` [`str`, `typing.Any`]
        Field name: value. The receiver owns this dict and its lists.
    is_history : `bool`
        True if delivered as history by `Channel.start`.

    Notes
    -----
    Called in the event loop thread that called `Channel.start`; must not
    block and must not raise (exceptions are logged by the receiver).
    """

    def __call__(self, sal_name: str, data: dict[str, typing.Any], is_history: bool) -> None: ...


class Channel(abc.ABC):
    """Connection of one SalInfo (one component and index) to a transport.

    Made by `Transport.make_channel`; not constructed directly.

    Parameters
    ----------
    transport : `Transport`
        The transport that made this channel.
    component_info : `ComponentInfo`
        Interface of the component.
    index : `int`
        SAL index of the SalInfo (0 if not indexed or "all indices").
    identity : `str`
        Identity of the SalInfo (``Name[:index]`` or ``user@host``).
    receiver : `SampleReceiver`
        Called for each received sample.
    log : `logging.Logger`
        Logger for transport problems.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        component_info: ComponentInfo,
        index: int,
        identity: str,
        receiver: SampleReceiver,
        log: logging.Logger,
    ) -> None:
        self.transport = transport
        self.component_info = component_info
        self.index = index
        self.identity = identity
        self.receiver = receiver
        self.log = log

    @property
    def name_index(self) -> str:
        """``Name`` or ``Name:index`` (index non-zero)."""
        name = self.component_info.name
        return f"{name}:{self.index}" if self.index else name

    @abc.abstractmethod
    async def start(
        self, read_topics: typing.Sequence[ReadTopicSpec], write_topics: typing.Sequence[TopicInfo]
    ) -> None:
        """Subscribe to ``read_topics`` and prepare to write ``write_topics``.

        Creates whatever the transport needs (topics, schemas, producers,
        consumers). Returns only after the history of every read topic
        has been handed to the receiver (see `ReadTopicSpec`). After this
        returns, samples written by anyone on a read topic are delivered.
        Called at most once.

        Raises
        ------
        TransportError
            If the transport cannot be reached or set up.
        """
        raise NotImplementedError()

    @abc.abstractmethod
    async def write(self, sal_name: str, data: dict[str, typing.Any]) -> None:
        """Send one sample on a write topic.

        Parameters
        ----------
        sal_name : `str`
            SAL topic name; must be one of the write topics given to `start`.
        data : `dict` [`str`, `typing.Any`]
            Every field of the topic's schema, private fields filled in.
            The caller may reuse ``data`` after this returns (the transport
            copies or serializes it before returning).

        Notes
        -----
        Returns once the sample is queued for delivery; does not wait for
        readers or a broker acknowledgement.

        Raises
        ------
        TransportError
            If the channel is not started, is closed, or the sample cannot
            be serialized or queued.
        """
        raise NotImplementedError()

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop delivering samples and release resources. Idempotent."""
        raise NotImplementedError()


class Transport(abc.ABC):
    """A way of moving samples between SalInfos; one instance per Domain.

    Subclasses register themselves with
    `~lsst.ts.salkit.transport.register_transport` under `name`.

    Parameters
    ----------
    topic_subname : `str` or `None`
        Topic sub-name; None: read ``$LSST_TOPIC_SUBNAME``.
    """

    #: Name under which the transport is registered (e.g. ``memory``).
    name: typing.ClassVar[str] = ""

    #: Seconds a closing Controller waits, after writing its last samples and
    #: before closing its domain, so those samples get out (salobj: 1 s).
    shutdown_delay: typing.ClassVar[float] = 1.0

    def __init__(self, topic_subname: str | None = None) -> None:
        self.topic_subname = topic_subname if topic_subname else get_topic_subname()

    @abc.abstractmethod
    def make_channel(
        self,
        *,
        component_info: ComponentInfo,
        index: int,
        identity: str,
        receiver: SampleReceiver,
        log: logging.Logger,
    ) -> Channel:
        """Make a channel for one SalInfo (not started). See `Channel`."""
        raise NotImplementedError()

    @abc.abstractmethod
    async def close(self) -> None:
        """Release resources shared by the channels; idempotent.

        Called by Domain.close after every channel has been closed.
        """
        raise NotImplementedError()
