"""Deliver one file to a destination through lsst-resources and verify it there.

* local directory (``file://``): the target root must exist (a missing
  mount is the destination being down, not something to create). The file
  goes to a hidden partial name (``.<name>.<unique>.part``), is checked
  there, and only then is renamed into place. A directory watcher (the
  OODS) never sees a partial or unverified file under a raw's name, and a
  process killed mid-transfer leaves only a hidden ``.part`` file.

  - On the same file system as the staged file the partial name is a
    **hard link** (`os.link`): no byte is copied and no second copy takes
    disk space. Its far-end check: the partial name is the staged file's
    inode (same device and inode number) with the staged size, and (with
    checksum verification) the MD5 recorded when the file was written (the
    sidecar's, hashed as the bytes went out) equals the one the caller
    expects. Reading a link back would read the very same blocks, so it is
    not done. This is safe because nothing writes to a delivered file in
    place: the FITS writer, the late-header rewrite and the sidecar writer
    all write a new file under a temporary name and rename it, so a staged
    inode never changes once complete, and deleting one name (OODS cleanup,
    staging expiry) leaves the others.
  - Across file systems (``EXDEV``), or where a link is refused (``EPERM``,
    ``EMLINK``, a file system without hard links), the file is **copied**;
    its size and (with checksum verification) its re-read MD5 are checked
    against the source's.
* S3 (``s3://``): one ``PutObject`` with ``Content-MD5`` through the
  lsst-resources client (endpoint and credentials from the environment), so
  the server rejects a corrupted body; then ``HeadObject`` checks the size
  and that the ETag is the MD5.
* WebDAV (``https://``): lsst-resources ``transfer_from``; size only.

The source's MD5 is taken from its sidecar when the sidecar records one and
is at least as new as the file (the writer hashes the bytes as it writes
them); otherwise the source is read once to compute it.

Calls block; the delivery workers run them in threads.
"""

from __future__ import annotations

__all__ = ["TransferResult", "Transferrer", "recorded_md5"]

import base64
import contextlib
import errno
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Any

from lsst.resources import ResourcePath

from ..metadata import SidecarError, file_checksum, parse_checksum, read_sidecar, sidecar_path_for
from .config import VerifyMode
from .errors import DestinationUnreachableError, PermanentDeliveryError, VerificationError
from .keys import check_path_inside


@dataclass(frozen=True)
class TransferResult:
    """A verified copy at a destination.

    Attributes
    ----------
    uri : `str`
        Where the file is now.
    key : `str`
        Its key relative to the destination's target.
    size : `int`
        Size in bytes, as seen at the destination.
    checksum : `str` or `None`
        ``md5:<hex>`` if the content was verified, else None.
    etag : `str` or `None`
        The object's ETag (S3), without quotes.
    linked : `bool`
        True if the file is a hard link to the staged file (no copy made).
    """

    uri: str
    key: str
    size: int
    checksum: str | None
    etag: str | None = None
    linked: bool = False


_LINK_REFUSED = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP})
"""Why `os.link` may refuse where a copy works: other file system, policy
(``protected_hardlinks``, a file system without links), too many links."""


def recorded_md5(path: str, size: int, mtime_ns: int) -> str | None:
    """The MD5 the writer recorded for a raw file in its sidecar, if trustworthy.

    Parameters
    ----------
    path : `str`
        The raw FITS file.
    size : `int`
        Its current size.
    mtime_ns : `int`
        Its current modification time (ns).

    Returns
    -------
    md5 : `str` or `None`
        The hex digest, or None if there is no sidecar, it records no MD5,
        another size, or it is older than the file (a rewrite whose sidecar
        is not written yet): then the file must be read to know its MD5.
    """
    if not path.endswith((".fits", ".fits.fz", ".fits.gz")):
        return None
    sidecar_path = sidecar_path_for(path)
    try:
        if os.stat(sidecar_path).st_mtime_ns < mtime_ns:
            return None
        sidecar = read_sidecar(sidecar_path)
    except (OSError, SidecarError):
        return None
    if sidecar.checksum is None or sidecar.size != size:
        return None
    algorithm, digest = parse_checksum(sidecar.checksum)
    return digest if algorithm == "md5" else None


class Transferrer:
    """Transfers files below one target and verifies each copy.

    Parameters
    ----------
    target : `str`
        Normalized target URI (`~lsst.ts.archiver.delivery.DestinationConfig.target`).
    verify : `VerifyMode`
        Checksum or size verification.
    link : `bool`, optional
        Hard-link files into a local target on the same file system as the
        source instead of copying them (default). False always copies.
    """

    def __init__(self, target: str, verify: VerifyMode = VerifyMode.CHECKSUM, *, link: bool = True) -> None:
        self.root = ResourcePath(target, forceDirectory=True)
        self.verify = verify
        self.link = link

    def uri_for(self, key: str) -> ResourcePath:
        """Destination URI of a key (already checked with `object_key`)."""
        uri = self.root.join(key)
        if self.root.scheme == "file":
            check_path_inside(self.root.ospath, uri.ospath)
        return uri

    def put(self, source: str, key: str, *, md5: str | None = None) -> TransferResult:
        """Copy a local file to ``<target>/<key>`` and verify it.

        Parameters
        ----------
        source : `str`
            Local path of the file.
        key : `str`
            Key below the target.
        md5 : `str` or `None`, optional
            MD5 hex digest the source must have (e.g. recorded in the
            ledger). Default: the one its sidecar records (`recorded_md5`),
            else computed by reading the source.

        Raises
        ------
        PermanentDeliveryError
            If the source file does not exist.
        VerificationError
            If the copy differs from the source.
        OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError
            If the destination cannot be reached or written (retry later).
        """
        try:
            stat = os.stat(source)
        except FileNotFoundError:
            raise PermanentDeliveryError(f"Source file {source} does not exist") from None
        size = stat.st_size
        want_md5 = self.verify is VerifyMode.CHECKSUM or self.root.scheme == "s3"
        recorded = recorded_md5(source, size, stat.st_mtime_ns) if want_md5 else None
        if want_md5 and md5 is None:
            md5 = recorded
        dest = self.uri_for(key)
        if self.root.scheme == "file":
            return self._put_local(source, stat, dest, key, md5, recorded)
        if want_md5 and md5 is None:
            md5 = parse_checksum(file_checksum(source, "md5"))[1]
        if self.root.scheme == "s3":
            assert md5 is not None
            return self._put_s3(source, dest, key, size, md5)
        return self._put_other(source, dest, key, size)

    # ------------------------------------------------------------------

    def _put_local(
        self,
        source: str,
        stat: os.stat_result,
        dest: ResourcePath,
        key: str,
        md5: str | None,
        recorded: str | None,
    ) -> TransferResult:
        root = self.root.ospath
        if not os.path.isdir(root):
            raise DestinationUnreachableError(
                f"Destination directory {root} does not exist (not mounted?); it must be created by the operator"
            )
        directory, name = os.path.split(dest.ospath)
        os.makedirs(directory, exist_ok=True)
        partial = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.part")
        try:
            linked = self.link and _try_link(source, partial)
            if linked:
                checksum = self._check_link(source, stat, partial, dest, md5, recorded)
            else:
                checksum = self._copy_and_check(source, stat.st_size, partial, dest, md5)
            os.replace(partial, dest.ospath)
            if linked and os.path.lexists(partial):
                # rename(2) does nothing when both names are links to one
                # inode (the same file delivered again): drop the partial.
                os.unlink(partial)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        return TransferResult(str(dest), key, stat.st_size, checksum, linked=linked)

    def _check_link(
        self,
        source: str,
        stat: os.stat_result,
        partial: str,
        dest: ResourcePath,
        md5: str | None,
        recorded: str | None,
    ) -> str | None:
        """Far-end check of a hard link: the staged inode and size, and the
        MD5 recorded at write time against the expected one (no re-read)."""
        got = os.stat(partial)
        if (got.st_dev, got.st_ino) != (stat.st_dev, stat.st_ino) or got.st_size != stat.st_size:
            raise VerificationError(
                f"{dest} is not the staged file {source} after linking (inode {got.st_ino} "
                f"of {got.st_size} bytes, the source's is {stat.st_ino} of {stat.st_size}): "
                "the source was replaced meanwhile"
            )
        if self.verify is not VerifyMode.CHECKSUM:
            return None
        if recorded is None:
            # Nothing recorded when the file was written: read it once.
            recorded = parse_checksum(file_checksum(source, "md5"))[1]
        if md5 is not None and recorded != md5:
            raise VerificationError(
                f"{dest} links the staged file {source}, whose MD5 is {recorded}, not the expected {md5}"
            )
        return f"md5:{recorded}"

    def _copy_and_check(
        self, source: str, size: int, partial: str, dest: ResourcePath, md5: str | None
    ) -> str | None:
        """Copy to the partial name; check its size and re-read MD5."""
        shutil.copyfile(source, partial)
        got = os.stat(partial).st_size
        if got != size:
            raise VerificationError(f"{dest} has {got} bytes after the copy, the source {source} has {size}")
        if self.verify is not VerifyMode.CHECKSUM:
            return None
        if md5 is None:
            md5 = parse_checksum(file_checksum(source, "md5"))[1]
        remote = parse_checksum(file_checksum(partial, "md5"))[1]
        if remote != md5:
            raise VerificationError(f"{dest} has MD5 {remote} after the copy, the source {source} has {md5}")
        return f"md5:{remote}"

    def _put_s3(self, source: str, dest: ResourcePath, key: str, size: int, md5: str) -> TransferResult:
        client: Any = dest.client  # type: ignore[attr-defined]
        bucket = dest.netloc.rsplit("@", 1)[-1]
        object_key = dest.relativeToPathRoot
        content_md5 = base64.b64encode(bytes.fromhex(md5)).decode("ascii")
        with open(source, "rb") as body:
            client.put_object(
                Bucket=bucket, Key=object_key, Body=body, ContentMD5=content_md5, ContentLength=size
            )
        head = client.head_object(Bucket=bucket, Key=object_key)
        got = int(head["ContentLength"])
        etag = str(head.get("ETag", "")).strip('"')
        if got != size:
            raise VerificationError(
                f"{dest} has {got} bytes after the upload, the source {source} has {size}"
            )
        checksum = None
        if self.verify is VerifyMode.CHECKSUM:
            if etag != md5:
                raise VerificationError(f"{dest} has ETag {etag}, not the source's MD5 {md5}")
            checksum = f"md5:{md5}"
        return TransferResult(str(dest), key, got, checksum, etag)

    def _put_other(self, source: str, dest: ResourcePath, key: str, size: int) -> TransferResult:
        dest.transfer_from(ResourcePath(source), transfer="copy", overwrite=True)
        got = dest.size()
        if got != size:
            raise VerificationError(f"{dest} has {got} bytes after the copy, the source {source} has {size}")
        return TransferResult(str(dest), key, got, None)


def _try_link(source: str, partial: str) -> bool:
    """Hard-link ``source`` as ``partial``; False if the link is refused
    (other file system, policy, link count), so the caller copies."""
    try:
        os.link(source, partial)
    except OSError as e:
        if e.errno in _LINK_REFUSED:
            return False
        raise
    return True
