"""Bookkeeping of one command a Remote has sent and is waiting on."""

from __future__ import annotations

__all__ = ["CommandInfo"]

import asyncio
import collections

from ..enums import FINAL_ACK_CODES
from ..interface import BaseSample


class CommandInfo:
    """Acks received for one command, in arrival order.

    Parameters
    ----------
    attr_name : `str`
        Attribute name of the command, e.g. ``cmd_wait`` (for messages).
    seq_num : `int`
        The command's ``private_seqNum``.
    """

    def __init__(self, attr_name: str, seq_num: int) -> None:
        self.attr_name = attr_name
        self.seq_num = seq_num
        self.last_ackcmd: BaseSample | None = None
        self._acks: collections.deque[BaseSample] = collections.deque()
        self._future: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def done(self) -> bool:
        """Has a final ack been received?"""
        return self.last_ackcmd is not None and self.last_ackcmd.ack in FINAL_ACK_CODES  # type: ignore[attr-defined]

    def add_ackcmd(self, ackcmd: BaseSample) -> bool:
        """Record an ack; return True if it is final."""
        self._acks.append(ackcmd)
        self.last_ackcmd = ackcmd
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
        return ackcmd.ack in FINAL_ACK_CODES  # type: ignore[attr-defined]

    async def next_ackcmd(self, timeout: float) -> BaseSample:
        """Pop the next ack, waiting up to ``timeout`` seconds.

        Raises
        ------
        TimeoutError
            If no ack arrives in time.
        RuntimeError
            If closed (the Remote was closed) while waiting.
        """
        while not self._acks:
            if self._closed:
                raise RuntimeError(f"{self.attr_name} seqNum={self.seq_num}: closed while waiting for an ack")
            if timeout <= 0:
                raise TimeoutError()
            if self._future is None or self._future.done():
                self._future = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(asyncio.shield(self._future), timeout)
        return self._acks.popleft()

    def close(self) -> None:
        """Wake any waiter with an error."""
        self._closed = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    def __repr__(self) -> str:
        return f"CommandInfo({self.attr_name}, seq_num={self.seq_num}, last_ackcmd={self.last_ackcmd})"
