"""The on-disk DAQ store emulator: catalog, folders, reads, eviction, errors, streams."""

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM, DaqLocation, RebKind
from lsst.ts.archiver.daq import (
    CorruptSourceError,
    EmulatedDaqStore,
    FolderNotFoundError,
    ImageEvictedError,
    ImageExistsError,
    ImageIncompleteError,
    ImageNotFoundError,
    PixelGenerator,
    SourceNotFoundError,
    StoreCapacityError,
    TruncatedSourceError,
    camera_for_partition,
)
from lsst.ts.archiver.testing import STD_TIMEOUT

# Small readouts keep the tests fast: 8 columns x 4 rows per amplifier.
SMALL = {"UnderCols": 2, "ReadCols": 4, "OverCols": 2, "ReadRows": 3, "OverRows": 1}
SMALL_SOURCE_BYTES = 3 * 36 * 8 * 4


def _pixels(seed: int, n_det: int = 3, n_amps: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**18, size=(n_det, n_amps, 4, 8), dtype=np.int32)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmulatedDaqStore]:
    with EmulatedDaqStore(tmp_path, "comcam") as daq:
        yield daq


def test_new_store_has_raw_and_emu_folders_and_default_camera(store: EmulatedDaqStore) -> None:
    assert store.folders() == ["emu", "raw"]
    assert store.camera is LSST_COMCAM
    assert store.partition == "comcam"


def test_create_image_records_metadata_and_register_lists(store: EmulatedDaqStore) -> None:
    image = store.create_image(
        "CC_O_20241123_000123",
        annotation="test",
        opcode=3,
        timestamp=1.7e9,
        tag=0x723333EC44D7ACB0,
        registers=SMALL,
    )
    found = store.find_image("CC_O_20241123_000123")
    assert found == image
    assert (found.folder, found.partition, found.annotation, found.opcode) == ("raw", "comcam", "test", 3)
    assert found.timestamp == 1.7e9
    assert found.tag_hex == "723333ec44d7acb0"
    assert [str(loc) for loc in found.locations] == ["R22/Reb0", "R22/Reb1", "R22/Reb2"]
    source = found.source("R22/Reb1")
    assert (source.kind, source.naxis1, source.naxis2, source.sensor_type) == (
        RebKind.SCIENCE,
        8,
        4,
        "SCIENCE",
    )
    assert source.register_map["OpFlags"] == 1
    assert source.platform == "comcam"
    assert not found.complete and not source.complete


def test_default_registers_give_full_raw_amplifiers(store: EmulatedDaqStore) -> None:
    image = store.create_image("CC_O_20241123_000001", locations=["R22/Reb0"])
    source = image.source("22/0")
    assert (source.naxis1, source.naxis2) == (576, 2048)
    assert source.size == 127_401_984


def test_written_pixels_decode_to_the_same_arrays_in_fits_order(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000002", registers=SMALL)
    written = {}
    for k, location in enumerate(("R22/Reb0", "R22/Reb1", "R22/Reb2")):
        written[location] = _pixels(k)
        store.write_pixels("CC_O_20241123_000002", location, written[location])
    image = store.find_image("CC_O_20241123_000002")
    assert image.complete and all(s.complete for s in image.sources)
    decoded = store.decode_source("CC_O_20241123_000002", "R22/Reb1")
    np.testing.assert_array_equal(decoded.pixels, written["R22/Reb1"])
    assert [d.name for d in decoded.detectors] == ["R22_S10", "R22_S11", "R22_S12"]
    np.testing.assert_array_equal(decoded.detector_pixels("R22_S12"), written["R22/Reb1"][2])
    np.testing.assert_array_equal(decoded.detector_pixels(4), written["R22/Reb1"][1])
    assert [det.name for det, _ in decoded] == ["R22_S10", "R22_S11", "R22_S12"]


def test_read_source_returns_packed_words_of_the_documented_size(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000003", locations=["R22/Reb2"], registers=SMALL)
    store.write_pixels("CC_O_20241123_000003", "R22/Reb2", _pixels(1))
    words = store.read_source("CC_O_20241123_000003", "R22/Reb2")
    assert words.dtype == np.uint32 and words.nbytes == SMALL_SOURCE_BYTES


def test_catalog_and_data_survive_a_restart(tmp_path: Path) -> None:
    with EmulatedDaqStore(tmp_path, "comcam", capacity=10**9) as first:
        first.create_image("CC_O_20241123_000004", locations=["R22/Reb0"], registers=SMALL)
        first.write_pixels("CC_O_20241123_000004", "R22/Reb0", _pixels(4))
        first.create_folder("calib")
    with EmulatedDaqStore(tmp_path, "comcam") as second:
        assert second.capacity().capacity == 10**9
        assert "calib" in second.folders()
        decoded = second.decode_source("CC_O_20241123_000004", "R22/Reb0")
        np.testing.assert_array_equal(decoded.pixels, _pixels(4))


def test_unknown_image_error_names_image_folder_and_partition(store: EmulatedDaqStore) -> None:
    with pytest.raises(ImageNotFoundError) as info:
        store.find_image("CC_O_20241123_000999")
    message = str(info.value)
    assert "CC_O_20241123_000999" in message and "'raw'" in message and "'comcam'" in message
    assert not isinstance(info.value, ImageEvictedError)


def test_unknown_folder_is_its_own_error(store: EmulatedDaqStore) -> None:
    with pytest.raises(FolderNotFoundError, match="'nope'"):
        store.find_image("CC_O_20241123_000001", folder="nope")
    with pytest.raises(FolderNotFoundError):
        store.list_images("nope")


def test_unknown_source_location_lists_available_ones(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000005", locations=["R22/Reb0"], registers=SMALL)
    with pytest.raises(SourceNotFoundError, match="R22/Reb1.*R22/Reb0"):
        store.read_source("CC_O_20241123_000005", "R22/Reb1")


def test_duplicate_image_name_in_folder_is_rejected(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000006", registers=SMALL)
    with pytest.raises(ImageExistsError, match="CC_O_20241123_000006"):
        store.create_image("CC_O_20241123_000006", registers=SMALL)
    store.create_image("CC_O_20241123_000006", folder="emu", registers=SMALL)


def test_reading_an_unwritten_source_says_incomplete(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000007", registers=SMALL)
    with pytest.raises(ImageIncompleteError, match="R22/Reb0"):
        store.read_source("CC_O_20241123_000007", "R22/Reb0")


def test_oldest_images_are_evicted_first_when_capacity_is_reached(tmp_path: Path) -> None:
    one_image = SMALL_SOURCE_BYTES
    with EmulatedDaqStore(tmp_path, "comcam", capacity=3 * one_image) as daq:
        for seq in range(1, 6):
            name = f"CC_O_20241123_{seq:06d}"
            daq.create_image(name, locations=["R22/Reb0"], registers=SMALL, timestamp=1000.0 + seq)
            daq.write_pixels(name, "R22/Reb0", _pixels(seq))
        assert [i.name for i in daq.list_images()] == [f"CC_O_20241123_{s:06d}" for s in (3, 4, 5)]
        assert daq.capacity().used == 3 * one_image
        assert daq.capacity().remaining == 0
        with pytest.raises(ImageEvictedError, match="evicted") as info:
            daq.read_source("CC_O_20241123_000001", "R22/Reb0")
        assert isinstance(info.value, ImageNotFoundError)
        np.testing.assert_array_equal(
            daq.decode_source("CC_O_20241123_000005", "R22/Reb0").pixels, _pixels(5)
        )
        # The data directory of evicted images is gone.
        assert len(list((tmp_path / "comcam" / "data").iterdir())) == 3


def test_image_larger_than_the_store_is_refused(tmp_path: Path) -> None:
    with EmulatedDaqStore(tmp_path, "comcam", capacity=100) as daq:
        with pytest.raises(StoreCapacityError, match="raise the capacity"):
            daq.create_image("CC_O_20241123_000001", registers=SMALL)


def test_truncated_source_file_is_reported_with_sizes(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000008", locations=["R22/Reb0"], registers=SMALL)
    store.write_pixels("CC_O_20241123_000008", "R22/Reb0", _pixels(8))
    (path,) = (store.directory / "data").glob("*/22_0.dat")
    path.write_bytes(path.read_bytes()[:-36])
    with pytest.raises(TruncatedSourceError, match=f"{SMALL_SOURCE_BYTES}.*{SMALL_SOURCE_BYTES - 36}"):
        store.decode_source("CC_O_20241123_000008", "R22/Reb0")


def test_corrupt_source_file_fails_the_checksum(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000009", locations=["R22/Reb0"], registers=SMALL)
    store.write_pixels("CC_O_20241123_000009", "R22/Reb0", _pixels(9))
    (path,) = (store.directory / "data").glob("*/22_0.dat")
    data = bytearray(path.read_bytes())
    data[100] ^= 0x04
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptSourceError, match="CRC-32"):
        store.read_source("CC_O_20241123_000009", "R22/Reb0")
    assert store.read_source("CC_O_20241123_000009", "R22/Reb0", verify=False).nbytes == SMALL_SOURCE_BYTES


def test_write_source_rejects_data_of_the_wrong_size(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000010", locations=["R22/Reb0"], registers=SMALL)
    with pytest.raises(TruncatedSourceError):
        store.write_source("CC_O_20241123_000010", "R22/Reb0", b"\0" * 64)


def test_list_images_by_time_window_and_folder(store: EmulatedDaqStore) -> None:
    for seq, stamp in ((1, 300.0), (2, 100.0), (3, 200.0)):
        store.create_image(
            f"CC_O_20241123_{seq:06d}", locations=["R22/Reb0"], registers=SMALL, timestamp=stamp
        )
    store.create_image("template", folder="emu", locations=["R22/Reb0"], registers=SMALL, timestamp=150.0)
    assert [i.name for i in store.list_images()] == [
        "CC_O_20241123_000002",
        "CC_O_20241123_000003",
        "CC_O_20241123_000001",
    ]
    assert [i.name for i in store.list_images(since=150.0, until=300.0)] == ["CC_O_20241123_000003"]
    assert [i.name for i in store.list_images(None)][1] == "template"
    assert store.list_images(complete_only=True) == []


def test_remove_image_and_folder(store: EmulatedDaqStore) -> None:
    store.create_folder("scratch")
    store.create_image("x1", folder="scratch", locations=["R22/Reb0"], registers=SMALL)
    with pytest.raises(ValueError, match="1 images"):
        store.remove_folder("scratch")
    store.remove_image("x1", folder="scratch")
    with pytest.raises(ImageNotFoundError):
        store.find_image("x1", folder="scratch")
    store.remove_folder("scratch")
    assert "scratch" not in store.folders()


def test_generated_full_size_source_decodes_to_generator_output(tmp_path: Path) -> None:
    generator = PixelGenerator(signal=1000.0)
    with EmulatedDaqStore(tmp_path, "lat") as daq:
        image = daq.add_image("AT_O_20241123_000001", generator=generator)
        assert image.complete and [str(loc) for loc in image.locations] == ["R00/RebW"]
        assert image.source("R00/RebW").kind is RebKind.WREB
        decoded = daq.decode_source("AT_O_20241123_000001", "R00/RebW")
    expected = generator.detector_pixels("AT_O_20241123_000001", LATISS.detector(0))
    np.testing.assert_array_equal(decoded.pixels[0], expected)


def test_lsstcam_corner_sources_round_trip(tmp_path: Path) -> None:
    with EmulatedDaqStore(tmp_path, "camera") as daq:
        assert daq.camera is LSSTCAM
        daq.create_image("MC_O_20241123_000001", locations=["R40/RebG", "R40/RebW"], registers=SMALL)
        guider, wavefront = _pixels(1, 2, 16), _pixels(2, 2, 8)
        daq.write_pixels("MC_O_20241123_000001", "R40/RebG", guider)
        daq.write_pixels("MC_O_20241123_000001", "R40/RebW", wavefront)
        g = daq.decode_source("MC_O_20241123_000001", "R40/RebG")
        w = daq.decode_source("MC_O_20241123_000001", DaqLocation(40, 0))
    np.testing.assert_array_equal(g.detector_pixels("R40_SG1"), guider[1])
    np.testing.assert_array_equal(w.detector_pixels("R40_SW1"), wavefront[1])
    assert w.source.sensor_type == "WAVEFRONT" and g.source.sensor_type == "GUIDE"


def test_partition_names_map_to_cameras() -> None:
    assert camera_for_partition("camera") is LSSTCAM
    assert camera_for_partition("comcam") is LSST_COMCAM
    assert camera_for_partition("lat") is LATISS
    assert camera_for_partition("ats") is LATISS
    with pytest.raises(ValueError, match="'bot'"):
        camera_for_partition("bot")


def _write_later(store: EmulatedDaqStore, name: str, delay: float) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        store.create_image(name, registers=SMALL)
        time.sleep(delay)
        for k, location in enumerate(("R22/Reb0", "R22/Reb1", "R22/Reb2")):
            store.write_pixels(name, location, _pixels(k))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def test_stream_reports_new_image_when_created_then_when_complete(store: EmulatedDaqStore) -> None:
    store.create_image("CC_O_20241123_000001", registers=SMALL)  # before the stream: not reported
    created = store.stream()
    completed = store.stream()
    thread = _write_later(store, "CC_O_20241123_000002", 0.2)
    try:
        first = await created.next(timeout=STD_TIMEOUT)
        assert first.name == "CC_O_20241123_000002"
        done = await completed.next(timeout=STD_TIMEOUT, complete=True)
        assert done.name == "CC_O_20241123_000002" and done.complete
    finally:
        await asyncio.to_thread(thread.join)


async def test_a_newest_first_stream_reports_the_latest_image_first_then_the_others(
    store: EmulatedDaqStore,
) -> None:
    store.create_image("CC_O_20241123_000010", registers=SMALL)  # before the stream: not reported
    stream = store.stream(newest_first=True)
    for seq in (11, 12, 13):
        store.create_image(f"CC_O_20241123_{seq:06d}", registers=SMALL)
    names = [(await stream.next(timeout=STD_TIMEOUT)).name for _ in range(3)]
    assert names == ["CC_O_20241123_000013", "CC_O_20241123_000012", "CC_O_20241123_000011"]
    with pytest.raises(TimeoutError):
        await stream.next(timeout=0.1)


async def test_stream_times_out_with_clear_message(store: EmulatedDaqStore) -> None:
    with pytest.raises(TimeoutError, match="no new image in folder 'raw'"):
        await store.stream().next(timeout=0.1)


async def test_wait_complete_returns_once_all_sources_are_written(store: EmulatedDaqStore) -> None:
    thread = _write_later(store, "CC_O_20241123_000003", 0.05)
    try:
        await store.stream().next(timeout=STD_TIMEOUT)
        image = await store.wait_complete("CC_O_20241123_000003", timeout=STD_TIMEOUT)
        assert image.complete
    finally:
        await asyncio.to_thread(thread.join)
    store.create_image("CC_O_20241123_000004", registers=SMALL)
    with pytest.raises(TimeoutError, match="R22/Reb0"):
        await store.wait_complete("CC_O_20241123_000004", timeout=0.1)


READER = """
import asyncio, sys
import numpy as np
from lsst.ts.archiver.daq import EmulatedDaqStore

async def main():
    store = EmulatedDaqStore(sys.argv[1], "comcam")
    stream = store.stream()
    print("ready", flush=True)
    for _ in range(3):
        image = await stream.next(timeout=30, complete=True)
        total = sum(int(store.decode_source(image.name, s.location).pixels.sum()) for s in image.sources)
        print(image.name, total, flush=True)

asyncio.run(main())
"""


@pytest.mark.integration  # a reader in another process
def test_reader_in_another_process_sees_images_while_writer_adds_them(tmp_path: Path) -> None:
    with EmulatedDaqStore(tmp_path, "comcam") as writer:
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert reader.stdout is not None
            assert reader.stdout.readline().strip() == "ready"
            expected = []
            for seq in range(1, 4):
                name = f"CC_O_20241123_{seq:06d}"
                writer.create_image(name, registers=SMALL)
                for k, location in enumerate(("R22/Reb0", "R22/Reb1", "R22/Reb2")):
                    writer.write_pixels(name, location, _pixels(seq * 10 + k))
                expected.append(f"{name} {sum(int(_pixels(seq * 10 + k).sum()) for k in range(3))}")
            out, _ = reader.communicate(timeout=STD_TIMEOUT)
        finally:
            reader.kill()
    assert out.split("\n")[:3] == expected
    assert reader.returncode == 0


def test_header_cards_carry_daq_provenance(store: EmulatedDaqStore) -> None:
    image = store.create_image(
        "CC_O_20241123_000011", locations=["R22/Reb0"], registers=SMALL, timestamp=1732400000.5, tag=0xAB
    )
    cards = image.header_cards()
    assert cards["IMAGETAG"] == "00000000000000ab"
    assert (cards["DAQPART"], cards["DAQFOLD"]) == ("comcam", "raw")
    assert cards["DATE-TRG"] == "2024-11-23T22:13:20.500"
    assert cards["MJD-TRG"] == pytest.approx(60637.92593, abs=1e-5)
    source_cards = image.sources[0].header_cards()
    assert source_cards["PLATFORM"] == "comcam"
    assert int(source_cards["FIRMWARE"], 16) == image.sources[0].firmware
