"""Logging handler that writes Python log records as the logMessage event."""

from __future__ import annotations

__all__ = ["SalLogHandler"]

import asyncio
import collections
import logging
import traceback
import typing

if typing.TYPE_CHECKING:
    from .controller import Controller

#: Records logged before the Controller starts are kept, up to this many.
MAX_BUFFERED_RECORDS = 10


class SalLogHandler(logging.Handler):
    """Write log records of a Controller's logger as ``logMessage`` events.

    Uses ``set_write``, so an exact repeat of the previous message is not
    written again. Records emitted before the Controller's SalInfo has
    started are buffered (the last `MAX_BUFFERED_RECORDS`) and written at
    start. Records emitted from other threads are handed to the event loop.

    Parameters
    ----------
    controller : `Controller`
        Controller whose ``evt_logMessage`` is written.
    """

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self.loop = asyncio.get_running_loop()
        self._buffer: collections.deque[logging.LogRecord] = collections.deque(maxlen=MAX_BUFFERED_RECORDS)
        self._tasks: set[asyncio.Task[None]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._handle(record)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._handle, record)

    def _handle(self, record: logging.LogRecord) -> None:
        if not self.controller.salinfo.started:
            self._buffer.append(record)
            return
        task = asyncio.create_task(self.write_record(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def flush_buffer(self) -> None:
        """Write the records buffered before start (called by Controller.start)."""
        while self._buffer:
            self._handle(self._buffer.popleft())

    async def write_record(self, record: logging.LogRecord) -> None:
        """Write one record as logMessage; never raises."""
        try:
            message = self.format(record) if self.formatter else record.getMessage()
            tb = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
            await self.controller.evt_logMessage.set_write(  # type: ignore[attr-defined]
                name=record.name,
                level=record.levelno,
                message=message,
                traceback=tb,
                filePath=record.pathname,
                functionName=record.funcName,
                lineNumber=record.lineno or 0,
                process=record.process or 0,
                timestamp=0.0,
            )
        except Exception as e:
            # Never log here: it would recurse.
            print(f"SalLogHandler could not write logMessage: {e!r}")
