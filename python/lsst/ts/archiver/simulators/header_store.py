"""Where the simulated Header Service puts header files: any lsst-resources URI.

A local directory, ``file://``, ``s3://`` or ``http(s)://`` (WebDAV) root.
Files go to ``<root>/<HeaderService>/header/YYYY/MM/DD/<HeaderService>_header_<image>.yaml``,
the key layout of the real Header Service, with the date of the image name.
"""

from __future__ import annotations

__all__ = ["HeaderFileInfo", "HeaderStore", "header_key"]

import hashlib
import os
from dataclasses import dataclass

from lsst.resources import ResourcePath

from ..camera import ImageName


@dataclass(frozen=True)
class HeaderFileInfo:
    """A written header file: where it is and what it holds.

    Parameters
    ----------
    url : `str`
        Its URI (``file://``, ``s3://``, ``https://``).
    md5 : `str`
        MD5 of the bytes (hex).
    byte_size : `int`
        Size in bytes.
    """

    url: str
    md5: str
    byte_size: int


def header_key(header_service: str, image_name: str) -> str:
    """The relative path of an image's header file under the store root."""
    day_obs = ImageName.parse(image_name).day_obs_str
    return (
        f"{header_service}/header/{day_obs[:4]}/{day_obs[4:6]}/{day_obs[6:]}/"
        f"{header_service}_header_{image_name}.yaml"
    )


class HeaderStore:
    """Writes header files under a root URI (blocking: call from a thread).

    Parameters
    ----------
    root : `str` or `os.PathLike`
        Root directory or URI.
    header_service : `str`
        The Header Service name (first path component, file prefix).
    """

    def __init__(self, root: str | os.PathLike[str], header_service: str) -> None:
        self.root = ResourcePath(os.fspath(root), forceDirectory=True)
        self.header_service = header_service

    def write(self, image_name: str, data: bytes) -> HeaderFileInfo:
        """Write (or overwrite) the header file of an image.

        Raises
        ------
        OSError
            If the destination cannot be written (lsst-resources errors
            from remote stores pass through).
        """
        target = self.root.join(header_key(self.header_service, image_name))
        if target.isLocal:
            target.dirname().mkdir()
        target.write(data, overwrite=True)
        return HeaderFileInfo(url=str(target), md5=hashlib.md5(data).hexdigest(), byte_size=len(data))
