"""Header Service header file (YAML): round trip and clear errors for corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsst.ts.archiver.fits import (
    Card,
    CorruptHeaderError,
    HeaderServiceFile,
    parse_header_file,
    read_header_file,
    render_header_file,
)

SAMPLE = HeaderServiceFile(
    primary=(
        Card("OBSID", "MC_O_20260315_000051", "Image name"),
        Card("DATE-BEG", "2026-03-15T22:50:34.110", "Start"),
        Card("EXPTIME", 15.0, "Exposure time"),
        Card("SEQNUM", 51),
        Card("SIMULATE MTMOUNT", True, "HIERARCH key"),
        Card("OBJECT", "it's: [not] yaml #syntax", ""),
    ),
    detectors={"R22_S11": (Card("CCDTEMP", -95.1, "CCD temperature"),)},
    segments={("R22_S11", "10"): (Card("GAIN", 1.467, "gain"),), ("R22_S11", "07"): ()},
    source="memory",
)


def test_render_then_parse_returns_the_same_sections() -> None:
    parsed = parse_header_file(render_header_file(SAMPLE), source="x.yaml")
    assert parsed.primary == SAMPLE.primary
    assert dict(parsed.detectors) == dict(SAMPLE.detectors)
    assert dict(parsed.segments) == dict(SAMPLE.segments)
    assert parsed.obsid == "MC_O_20260315_000051"


def test_timestamps_stay_strings() -> None:
    parsed = parse_header_file("PRIMARY:\n- {keyword: DATE-BEG, value: 2026-03-15T22:50:34.110}\n")
    assert parsed.primary[0].value == "2026-03-15T22:50:34.110"


def test_detector_and_segment_lookups() -> None:
    assert SAMPLE.primary_cards_for("R22_S11")[-1].keyword == "CCDTEMP"
    assert SAMPLE.primary_cards_for("R22_S12") == SAMPLE.primary
    assert set(SAMPLE.segment_cards_for("R22_S11")) == {"10", "07"}


def test_read_header_file_parses_a_file(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(render_header_file(SAMPLE))
    assert read_header_file(path).primary == SAMPLE.primary


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "file is empty"),
        ("   \n", "file is empty"),
        ("PRIMARY: [\n  {keyword: A", "not valid YAML at line"),
        ("- 1\n- 2\n", "top level is a list"),
        ("OTHER: []\n", "no 'PRIMARY' section"),
        ("PRIMARY: []\n", "section 'PRIMARY' is empty"),
        ("PRIMARY: {keyword: A}\n", "expected a list"),
        ("PRIMARY:\n- 5\n", "entry 0 is a int"),
        ("PRIMARY:\n- {value: 1}\n", "has no 'keyword'"),
        ("PRIMARY:\n- {keyword: '', value: 1}\n", "expected a non-empty string"),
        ("PRIMARY:\n- {keyword: A, value: 1, units: s}\n", "unknown fields ['units']"),
        ("PRIMARY:\n- {keyword: A, value: 1}\nR22_S11_Seg10: []\n", "unknown section 'R22_S11_Seg10'"),
    ],
)
def test_corrupt_files_raise_corrupt_header_error_naming_file_and_problem(text: str, problem: str) -> None:
    with pytest.raises(CorruptHeaderError) as info:
        parse_header_file(text, source="https://lfa/MTHeaderService_header_X.yaml")
    assert problem in str(info.value)
    assert "https://lfa/MTHeaderService_header_X.yaml" in str(info.value)
    assert info.value.source.endswith("X.yaml")


def test_non_utf8_bytes_are_a_corrupt_header() -> None:
    with pytest.raises(CorruptHeaderError, match="not UTF-8"):
        parse_header_file(b"PRIMARY:\n- {keyword: A, value: \xff}\n", source="f.yaml")


def test_unreadable_file_is_a_corrupt_header_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(CorruptHeaderError, match="missing.yaml: cannot be read"):
        read_header_file(missing)


def test_announced_md5_is_checked() -> None:
    import hashlib

    text = render_header_file(SAMPLE).encode()
    good = hashlib.md5(text).hexdigest()
    assert parse_header_file(text, source="u", expected_md5=good.upper()).primary == SAMPLE.primary
    with pytest.raises(CorruptHeaderError, match="u: MD5 .* differs from the announced 0123"):
        parse_header_file(text[:-10], source="u", expected_md5="0123" + good[4:])
