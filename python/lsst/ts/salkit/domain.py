"""Domain: the transport and identity shared by the SalInfos of a process part."""

from __future__ import annotations

__all__ = ["Domain", "get_user_host"]

import asyncio
import functools
import getpass
import os
import socket
import types
import typing

from .transport import Transport, make_transport

if typing.TYPE_CHECKING:
    from .sal_info import SalInfo


@functools.cache
def get_user_host() -> str:
    """Return ``user@fqdn`` for this process (cached)."""
    return f"{getpass.getuser()}@{socket.getfqdn()}"


class Domain:
    """Container of SalInfos sharing one transport and a default identity.

    Parameters
    ----------
    transport : `Transport` or `None`
        Transport to use; None: `make_transport` (``$LSST_SALKIT_TRANSPORT``,
        default ``memory``).

    Attributes
    ----------
    origin : `int`
        Process ID, written as ``private_origin``.
    user_host : `str`
        ``user@fqdn``.
    default_identity : `str`
        Identity given to new SalInfos; ``user_host`` unless a Controller
        sets it to ``Name[:index]``.
    transport : `Transport`
        The transport.
    salinfo_set : `set` [`SalInfo`]
        Open SalInfos of this domain.
    """

    def __init__(self, transport: Transport | None = None) -> None:
        self.origin = os.getpid()
        self.user_host = get_user_host()
        self.default_identity = self.user_host
        self.transport = transport if transport is not None else make_transport()
        self.salinfo_set: set[SalInfo] = set()
        self.isopen = True
        self.done_task: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def identity(self) -> str:
        """Alias of `default_identity`."""
        return self.default_identity

    def add_salinfo(self, salinfo: SalInfo) -> None:
        """Register a SalInfo (called by SalInfo).

        Raises
        ------
        RuntimeError
            If the domain is closed.
        """
        if not self.isopen:
            raise RuntimeError(f"Cannot add SalInfo {salinfo.name_index}: the domain is closed")
        self.salinfo_set.add(salinfo)

    def remove_salinfo(self, salinfo: SalInfo) -> bool:
        """Forget a SalInfo (called by SalInfo.close); return True if it was known."""
        if salinfo in self.salinfo_set:
            self.salinfo_set.remove(salinfo)
            return True
        return False

    async def close(self) -> None:
        """Close every SalInfo, then the transport. Idempotent."""
        if not self.isopen:
            return
        self.isopen = False
        try:
            await asyncio.gather(*[salinfo.close() for salinfo in list(self.salinfo_set)])
            await self.transport.close()
        finally:
            if not self.done_task.done():
                self.done_task.set_result(None)

    async def __aenter__(self) -> Domain:
        return self

    async def __aexit__(
        self,
        type: type[BaseException] | None,
        value: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Domain(transport={self.transport.name}, default_identity={self.default_identity!r})"
