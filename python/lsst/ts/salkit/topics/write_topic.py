"""Writing topics: cached data, set, write, set_write."""

from __future__ import annotations

__all__ = ["MAX_SEQ_NUM", "SetWriteResult", "WriteTopic"]

import math
import typing
import warnings

from ..interface import BaseSample
from ..tai import current_tai, utc_from_tai_unix
from .base_topic import BaseTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo

#: Largest private_seqNum (Avro int); the counter wraps to its minimum.
MAX_SEQ_NUM = 2**31 - 1


class SetWriteResult(typing.NamedTuple):
    """Result of `WriteTopic.set_write`."""

    did_change: bool
    was_written: bool
    data: BaseSample


def _values_equal(a: typing.Any, b: typing.Any) -> bool:
    if a == b:
        return True
    return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)


class WriteTopic(BaseTopic):
    """A topic that is written; keeps the data to write next.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    attr_name : `str`
        Attribute name, e.g. ``evt_summaryState``.
    min_seq_num, max_seq_num : `int`
        Range of ``private_seqNum``; the counter wraps from max to min.
    initial_seq_num : `int` or `None`
        First ``private_seqNum``; None: ``min_seq_num``.

    Attributes
    ----------
    default_force_output : `bool`
        Default of ``force_output`` in `set_write`: True, except for events.
    """

    default_force_output: typing.ClassVar[bool] = True

    def __init__(
        self,
        *,
        salinfo: SalInfo,
        attr_name: str,
        min_seq_num: int = 1,
        max_seq_num: int = MAX_SEQ_NUM,
        initial_seq_num: int | None = None,
    ) -> None:
        super().__init__(salinfo=salinfo, attr_name=attr_name)
        if not 1 <= min_seq_num <= max_seq_num <= MAX_SEQ_NUM:
            raise ValueError(f"{attr_name}: need 1 <= min_seq_num={min_seq_num} <= max_seq_num={max_seq_num}")
        seq_num = min_seq_num if initial_seq_num is None else initial_seq_num
        if not min_seq_num <= seq_num <= max_seq_num:
            raise ValueError(
                f"{attr_name}: initial_seq_num={initial_seq_num} not in [{min_seq_num}, {max_seq_num}]"
            )
        self.min_seq_num = min_seq_num
        self.max_seq_num = max_seq_num
        self._seq_num = seq_num
        self._data = self.DataType()
        self._has_data = False
        self._field_names = frozenset(self.DataType.field_names)
        self._array_lengths = {
            name: field.count for name, field in self.topic_info.fields.items() if field.is_array
        }
        salinfo.add_writer(self)

    @property
    def data(self) -> BaseSample:
        """The data that `write` will send (modify it with `set`)."""
        return self._data

    @data.setter
    def data(self, data: BaseSample) -> None:
        if not isinstance(data, self.DataType):
            raise TypeError(f"{self}: data must be a {self.DataType.__name__}, not {type(data).__name__}")
        self._data = data.copy()
        self._has_data = True

    @property
    def has_data(self) -> bool:
        """Has `set` (or the ``data`` setter) been called?"""
        return self._has_data

    def set(self, **kwargs: typing.Any) -> bool:
        """Set fields of `data`; return True if any value changed.

        Arrays may be given as any sequence; they are stored as lists.
        Floats compare NaN equal to NaN.

        Raises
        ------
        AttributeError
            If a field name is not a field of this topic.
        """
        did_change = not self._has_data
        data = self._data
        for name, value in kwargs.items():
            if name not in self._field_names:
                raise AttributeError(
                    f"{self}: no field named {name!r}; fields: {list(self.DataType.field_names)}"
                )
            count = self._array_lengths.get(name)
            old = getattr(data, name)
            if count is not None:
                value = list(value)
                if len(value) != count:
                    warnings.warn(f"{self}: {name} has {len(value)} elements; expected {count}", stacklevel=2)
                changed = len(value) != len(old) or not all(map(_values_equal, value, old))
            else:
                changed = not _values_equal(value, old)
            if changed:
                did_change = True
                setattr(data, name, value)
        self._has_data = True
        return did_change

    def _next_seq_num(self) -> int:
        seq_num = self._seq_num
        self._seq_num = self.min_seq_num if seq_num >= self.max_seq_num else seq_num + 1
        return seq_num

    def _fill_private_fields(self, data: BaseSample) -> None:
        snd_stamp = current_tai()
        values: dict[str, typing.Any] = {
            "private_sndStamp": snd_stamp,
            "private_efdStamp": utc_from_tai_unix(snd_stamp),
            "private_kafkaStamp": snd_stamp,
            "private_revCode": self.topic_info.rev_code,
            "private_identity": self.salinfo.identity,
            "private_origin": self.salinfo.domain.origin,
            "private_seqNum": self._next_seq_num(),
        }
        if self.salinfo.index:
            values["salIndex"] = self.salinfo.index
        for name, value in values.items():
            setattr(data, name, value)

    async def write(self) -> BaseSample:
        """Fill the private fields and send `data`; return a copy of what was sent.

        Raises
        ------
        RuntimeError
            If the SalInfo is not started or is closed.
        """
        self._fill_private_fields(self._data)
        await self.salinfo.write_data(self, self._data)
        self._has_data = True
        return self._data.copy()

    async def set_write(self, *, force_output: bool | None = None, **kwargs: typing.Any) -> SetWriteResult:
        """`set` the fields, then `write` if anything changed or if forced.

        Parameters
        ----------
        force_output : `bool` or `None`
            Write even if nothing changed; None: `default_force_output`
            (False for events, True otherwise).
        **kwargs
            Field values.
        """
        did_change = self.set(**kwargs)
        if force_output is None:
            force_output = self.default_force_output
        if did_change or force_output:
            data = await self.write()
            return SetWriteResult(did_change=did_change, was_written=True, data=data)
        return SetWriteResult(did_change=False, was_written=False, data=self._data.copy())
