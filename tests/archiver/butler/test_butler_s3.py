"""Ingest of raws that sit in a real S3 server (SeaweedFS), copy and direct."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lsst.daf.butler import Butler
from lsst.resources.s3utils import clean_test_environment_for_s3

from lsst.ts.archiver.butler import FileStatus, RawIngester
from lsst.ts.archiver.metadata import sidecar_path_for
from lsst.ts.archiver.testing import TemporarySeaweedFS, make_primary_header, write_raw_file

pytestmark = pytest.mark.integration  # a SeaweedFS server


@pytest.fixture
def bucket(s3_bucket: str, seaweedfs: TemporarySeaweedFS) -> Iterator[str]:
    """A new bucket; the environment points S3 clients at the test server only."""
    with clean_test_environment_for_s3():
        os.environ.update(seaweedfs.env())
        yield s3_bucket


@pytest.fixture
def backend() -> str:
    return "sqlite"


def upload_exposure(
    server: TemporarySeaweedFS, bucket: str, local: Path, seq_num: int, names: list[str]
) -> list[str]:
    client = server.client()
    local.mkdir()
    uris = []
    for name in names:
        path = write_raw_file(local, make_primary_header("LSSTComCam", seq_num=seq_num, detector=name))
        key = f"LSSTComCam/20261123/{path.stem.rsplit('_', 2)[0]}/{path.name}"
        client.upload_file(str(path), bucket, key)
        client.upload_file(str(sidecar_path_for(path)), bucket, key.removesuffix(".fits") + ".json")
        uris.append(f"s3://{bucket}/{key}")
    return uris


@pytest.mark.parametrize("transfer", ["copy", "direct"])
def test_raws_in_s3_are_ingested_from_their_s3_sidecars(
    make_repo: Callable[..., Butler],
    tmp_path: Path,
    seaweedfs: TemporarySeaweedFS,
    bucket: str,
    transfer: str,
) -> None:
    butler = make_repo("LSSTComCam")
    uris = upload_exposure(seaweedfs, bucket, tmp_path / "local", 30, ["R22_S00", "R22_S11"])
    missing = uris[0].replace("R22_S00", "R22_S22")
    report = RawIngester(butler, transfer=transfer).ingest([*uris, missing])
    assert [r.status for r in report.files] == [
        FileStatus.INGESTED,
        FileStatus.INGESTED,
        FileStatus.METADATA_FAILURE,
    ]
    header = butler.get(
        "raw.header",
        instrument="LSSTComCam",
        exposure=2026112300030,
        detector=4,
        collections="LSSTComCam/raw/all",
    )
    assert header["CCDSLOT"] == "S11"
    uri = butler.getURI(
        "raw", instrument="LSSTComCam", exposure=2026112300030, detector=4, collections="LSSTComCam/raw/all"
    )
    assert (uri.scheme == "s3") == (transfer == "direct")
