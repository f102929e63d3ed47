"""File checksums in the sidecar's ``"<algorithm>:<hex digest>"`` form."""

from __future__ import annotations

__all__ = ["file_checksum", "parse_checksum"]

import hashlib
import os
import zlib

_CHUNK = 1 << 22


def parse_checksum(checksum: str) -> tuple[str, str]:
    """Split ``"md5:abc..."`` into ``("md5", "abc...")``.

    Raises
    ------
    ValueError
        Raised if the string has no ``algorithm:`` prefix or the algorithm is
        neither ``crc32`` nor one `hashlib` knows.
    """
    algorithm, sep, digest = checksum.partition(":")
    algorithm = algorithm.strip().lower()
    if not sep or not digest:
        raise ValueError(f"Checksum {checksum!r} is not of the form '<algorithm>:<hex digest>'")
    if algorithm != "crc32" and algorithm not in hashlib.algorithms_available:
        raise ValueError(
            f"Checksum {checksum!r} uses unknown algorithm {algorithm!r}; use crc32, md5 or sha256"
        )
    return algorithm, digest.strip().lower()


def file_checksum(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """Compute a file's checksum (read in chunks; blocking).

    The one file checksum of the package: the sidecar, Butler ingest and
    delivery verification all use it (`parse_checksum` splits the result).

    Parameters
    ----------
    path : `str` or `os.PathLike`
        The file.
    algorithm : `str`, optional
        ``crc32`` or any `hashlib` algorithm (``md5``, ``sha256``...).

    Returns
    -------
    checksum : `str`
        ``"<algorithm>:<hex digest>"`` (crc32 as 8 hex digits).
    """
    algorithm = algorithm.lower()
    with open(path, "rb") as stream:
        if algorithm == "crc32":
            value = 0
            while chunk := stream.read(_CHUNK):
                value = zlib.crc32(chunk, value)
            return f"crc32:{value:08x}"
        hasher = hashlib.new(algorithm, usedforsecurity=False)
        while chunk := stream.read(_CHUNK):
            hasher.update(chunk)
        return f"{algorithm}:{hasher.hexdigest()}"
