"""Reading topics: queue, latest value, waiting and callbacks."""

from __future__ import annotations

__all__ = ["DEFAULT_QUEUE_LEN", "MIN_QUEUE_LEN", "ReadTopic"]

import asyncio
import collections
import inspect
import typing

from ..interface import BaseSample
from .base_topic import BaseTopic

if typing.TYPE_CHECKING:
    from ..sal_info import SalInfo

#: Default number of samples a read topic queues.
DEFAULT_QUEUE_LEN = 100

#: Minimum allowed queue length.
MIN_QUEUE_LEN = 10

# Queue fill fractions at which a warning is logged.
_QUEUE_WARN_FRACTIONS = (0.1, 0.5, 0.9)

CallbackType = typing.Callable[[typing.Any], typing.Any]


class ReadTopic(BaseTopic):
    """A topic that is read: samples are queued and can be awaited.

    Use either a callback or `next`/`get_oldest` to consume the queue;
    `get` and `aget` return the latest sample regardless.

    Parameters
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    attr_name : `str`
        Attribute name, e.g. ``evt_summaryState``.
    max_history : `int`
        0: no history. >0: at start, queue the latest sample written before
        this reader started (events only; see `ReadTopicSpec`).
    queue_len : `int`
        Maximum number of queued samples; when full the oldest is dropped.

    Attributes
    ----------
    allow_multiple_callbacks : `bool`
        If False (default), callback calls are serialized: the next sample
        is handed to the callback only when the previous call has finished.

    Raises
    ------
    ValueError
        If ``queue_len < MIN_QUEUE_LEN`` or ``max_history`` is negative
        or larger than ``queue_len``.
    """

    def __init__(
        self,
        *,
        salinfo: SalInfo,
        attr_name: str,
        max_history: int,
        queue_len: int = DEFAULT_QUEUE_LEN,
    ) -> None:
        super().__init__(salinfo=salinfo, attr_name=attr_name)
        if queue_len < MIN_QUEUE_LEN:
            raise ValueError(f"queue_len={queue_len} for {attr_name} must be >= {MIN_QUEUE_LEN}")
        if max_history < 0 or max_history > queue_len:
            raise ValueError(
                f"max_history={max_history} for {attr_name} must be in [0, queue_len={queue_len}]"
            )
        self.max_history = max_history
        self.queue_len = queue_len
        self.allow_multiple_callbacks = False
        self.isopen = True
        self._data_queue: collections.deque[BaseSample] = collections.deque(maxlen=queue_len)
        self._current_data: BaseSample | None = None
        self._next_future: asyncio.Future[None] | None = None
        self._callback: CallbackType | None = None
        self._callback_wakeup = asyncio.Event()
        self._callback_loop_task: asyncio.Task[None] | None = None
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self._warned_fill = 0
        salinfo.add_reader(self)

    # --- queue access --------------------------------------------------------

    @property
    def has_data(self) -> bool:
        """Has any sample been received?"""
        return self._current_data is not None

    @property
    def nqueued(self) -> int:
        """Number of queued samples."""
        return len(self._data_queue)

    def get(self) -> BaseSample | None:
        """Return the latest sample received, or None; the queue is unchanged."""
        return self._current_data

    async def aget(self, timeout: float | None = None) -> BaseSample:
        """Return the latest sample, waiting for one if none has arrived.

        Raises
        ------
        TimeoutError
            If no sample arrives in time.
        """
        if self._current_data is not None:
            return self._current_data
        await self._wait_for_data(timeout)
        assert self._current_data is not None
        return self._current_data

    def get_oldest(self) -> BaseSample | None:
        """Pop and return the oldest queued sample, or None if the queue is empty."""
        return self._data_queue.popleft() if self._data_queue else None

    def flush(self) -> None:
        """Discard all queued samples."""
        self._data_queue.clear()
        self._warned_fill = 0

    async def next(self, *, flush: bool, timeout: float | None = None) -> BaseSample:
        """Pop and return the oldest queued sample, waiting for one if needed.

        Parameters
        ----------
        flush : `bool`
            Discard queued samples first (so only a new sample is returned).
        timeout : `float` or `None`
            Seconds to wait; None: forever.

        Raises
        ------
        RuntimeError
            If a callback is set (the callback consumes the queue).
        TimeoutError
            If no sample arrives in time.
        """
        if self._callback is not None:
            raise RuntimeError(f"{self}: next() is not allowed while a callback is set")
        if flush:
            self.flush()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._data_queue:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"{self}: no sample within {timeout} s")
            await self._wait_for_data(remaining)
        return self._data_queue.popleft()

    async def _wait_for_data(self, timeout: float | None) -> None:
        if not self.isopen:
            raise RuntimeError(f"{self} is closed")
        if self._next_future is None or self._next_future.done():
            self._next_future = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._next_future), timeout)
        except TimeoutError:
            raise TimeoutError(f"{self}: no sample within {timeout} s") from None

    # --- callback ------------------------------------------------------------

    @property
    def callback(self) -> CallbackType | None:
        """Function called with each sample (sync or async), or None.

        Setting a callback starts consuming the queue (including samples
        already queued); setting None stops it after any call in progress.
        """
        return self._callback

    @callback.setter
    def callback(self, func: CallbackType | None) -> None:
        if func is not None and not callable(func):
            raise TypeError(f"{self}: callback {func!r} is not callable")
        self._callback = func
        if func is not None and self.isopen:
            if self._callback_loop_task is None or self._callback_loop_task.done():
                self._callback_loop_task = asyncio.create_task(self._callback_loop())
        # Wake the loop: to process queued samples, or to exit if func is None
        # (a callback in progress is allowed to finish).
        self._callback_wakeup.set()

    async def _callback_loop(self) -> None:
        while True:
            while self._data_queue and self._callback is not None:
                data = self._data_queue.popleft()
                if self.allow_multiple_callbacks:
                    task = asyncio.create_task(self._run_callback(data))
                    self._callback_tasks.add(task)
                    task.add_done_callback(self._callback_tasks.discard)
                else:
                    await self._run_callback(data)
            if self._callback is None:
                return
            self._callback_wakeup.clear()
            await self._callback_wakeup.wait()

    async def _run_callback(self, data: BaseSample) -> None:
        """Call the callback with one sample; log (never raise) its exceptions."""
        func = self._callback
        if func is None:
            return
        try:
            result = func(data)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.exception(f"Callback {func} of {self} failed on {data}")

    # --- incoming data (called by SalInfo) ------------------------------------

    def _queue_data(self, data: BaseSample, is_history: bool) -> None:
        """Queue one received sample and wake waiters and the callback loop."""
        queue = self._data_queue
        dropping = len(queue) == self.queue_len
        queue.append(data)
        self._current_data = data
        self._check_fill(dropping)
        if self._next_future is not None and not self._next_future.done():
            self._next_future.set_result(None)
        if self._callback is not None:
            self._callback_wakeup.set()

    def _check_fill(self, dropping: bool) -> None:
        """Warn when the queue fill rises past 10%, 50%, 90% and when full.

        Each level is reported once until the queue drains below it.
        """
        fill = len(self._data_queue) / self.queue_len
        level = len(_QUEUE_WARN_FRACTIONS) + 1 if dropping else sum(fill >= f for f in _QUEUE_WARN_FRACTIONS)
        if level > self._warned_fill:
            if dropping:
                self.log.warning(f"{self}: queue full ({self.queue_len}); dropping the oldest samples")
            else:
                self.log.warning(
                    f"{self}: queue is {fill:.0%} full ({len(self._data_queue)}/{self.queue_len})"
                )
        self._warned_fill = level

    def close(self) -> None:
        """Stop callbacks, wake waiters with an error, clear the queue."""
        if not self.isopen:
            return
        self.isopen = False
        self._callback = None
        if self._callback_loop_task is not None:
            self._callback_loop_task.cancel()
            self._callback_loop_task = None
        for task in list(self._callback_tasks):
            task.cancel()
        if self._next_future is not None and not self._next_future.done():
            self._next_future.set_exception(RuntimeError(f"{self} closed while waiting for data"))
            self._next_future.exception()  # mark retrieved
        self._data_queue.clear()
