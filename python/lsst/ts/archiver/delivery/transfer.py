"""Copy one file to a destination through lsst-resources and verify it there.

* local directory (``file://``): the target root must exist (a missing
  mount is the destination being down, not something to create); the file
  is copied to a hidden partial name (``.<name>.<unique>.part``), its size
  and (with checksum verification) its re-read MD5 are checked there, and
  only then is it renamed into place. A directory watcher (the OODS) never
  sees a partial or unverified file under a raw's name, and a process killed
  mid-copy leaves only a hidden ``.part`` file.
* S3 (``s3://``): one ``PutObject`` with ``Content-MD5`` through the
  lsst-resources client (endpoint and credentials from the environment), so
  the server rejects a corrupted body; then ``HeadObject`` checks the size
  and that the ETag is the MD5.
* WebDAV (``https://``): lsst-resources ``transfer_from``; size only.

Calls block; the delivery workers run them in threads.
"""

from __future__ import annotations

__all__ = ["TransferResult", "Transferrer"]

import base64
import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Any

from lsst.resources import ResourcePath

from ..metadata import file_checksum, parse_checksum
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
    """

    uri: str
    key: str
    size: int
    checksum: str | None
    etag: str | None = None


class Transferrer:
    """Transfers files below one target and verifies each copy.

    Parameters
    ----------
    target : `str`
        Normalized target URI (`~lsst.ts.archiver.delivery.DestinationConfig.target`).
    verify : `VerifyMode`
        Checksum or size verification.
    """

    def __init__(self, target: str, verify: VerifyMode = VerifyMode.CHECKSUM) -> None:
        self.root = ResourcePath(target, forceDirectory=True)
        self.verify = verify

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
            MD5 hex digest of the source if already known.

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
            size = os.stat(source).st_size
        except FileNotFoundError:
            raise PermanentDeliveryError(f"Source file {source} does not exist") from None
        want_md5 = self.verify is VerifyMode.CHECKSUM or self.root.scheme == "s3"
        if want_md5 and md5 is None:
            md5 = parse_checksum(file_checksum(source, "md5"))[1]
        dest = self.uri_for(key)
        if self.root.scheme == "file":
            return self._put_local(source, dest, key, size, md5)
        if self.root.scheme == "s3":
            assert md5 is not None
            return self._put_s3(source, dest, key, size, md5)
        return self._put_other(source, dest, key, size)

    # ------------------------------------------------------------------

    def _put_local(
        self, source: str, dest: ResourcePath, key: str, size: int, md5: str | None
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
            shutil.copyfile(source, partial)
            got = os.stat(partial).st_size
            if got != size:
                raise VerificationError(
                    f"{dest} has {got} bytes after the copy, the source {source} has {size}"
                )
            checksum = None
            if self.verify is VerifyMode.CHECKSUM:
                remote = parse_checksum(file_checksum(partial, "md5"))[1]
                if remote != md5:
                    raise VerificationError(
                        f"{dest} has MD5 {remote} after the copy, the source {source} has {md5}"
                    )
                checksum = f"md5:{remote}"
            os.replace(partial, dest.ospath)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        return TransferResult(str(dest), key, got, checksum)

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
