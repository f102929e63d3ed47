"""Image names, exposure ids and day_obs (reference §2.3)."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsst.ts.archiver.camera import (
    CAMERA_CODES,
    CONTROLLERS,
    ImageName,
    InvalidImageNameError,
    day_obs_bounds,
    day_obs_for,
)


def test_parse_and_format_round_trip() -> None:
    name = ImageName.parse("MC_O_20241123_000123")
    assert (name.camera_code, name.controller, name.day_obs, name.seq_num) == ("MC", "O", 20241123, 123)
    assert str(name) == "MC_O_20241123_000123"
    assert name.obsid == "MC_O_20241123_000123"
    assert name.day_obs_str == "20241123"
    assert ImageName("CC", "C", 20241108, 266).obsid == "CC_C_20241108_000266"


@pytest.mark.parametrize(
    "text",
    [
        "MC_O_20241123_123",  # short sequence number
        "XX_O_20241123_000123",  # unknown camera code
        "MC_Z_20241123_000123",  # unknown controller
        "MC_O_20241331_000123",  # bad month
        "MC_O_20240230_000123",  # bad day
        "MC_O_20241123_000000",  # sequence number 0
        "mc_o_20241123_000123",
        "MC_O_20241123_000123_R22_S11",
    ],
)
def test_parse_rejects_bad_names_with_value(text: str) -> None:
    with pytest.raises(InvalidImageNameError) as info:
        ImageName.parse(text)
    assert isinstance(info.value, ValueError)
    assert ImageName.is_valid(text) is False


def test_error_message_names_offending_part() -> None:
    with pytest.raises(InvalidImageNameError, match="'Z'"):
        ImageName.parse("MC_Z_20241123_000123")


@pytest.mark.parametrize(
    "text",
    [
        "MC_O_\u0662\u0660\u0662\u0664\u0661\u0661\u0662\u0663_000123",  # Arabic-Indic digits
        "MC_O_20241123_\uff10\uff10\uff10\uff11\uff12\uff13",  # full-width digits
        "MC_O_2024\U0001d7cf\U0001d7cf23_000123",  # mathematical bold digits
        "\uff2d\uff23_O_20241123_000123",  # full-width letters
    ],
)
def test_parse_rejects_non_ascii_digits_and_letters(text: str) -> None:
    with pytest.raises(InvalidImageNameError, match="non-ASCII") as info:
        ImageName.parse(text)
    assert repr(text) in str(info.value) and "SS_C_YYYYMMDD_NNNNNN" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [" MC_O_20241123_000123", "MC_O_20241123_000123 ", "MC_O_20241123_000123\n", "\tMC_O_20241123_000123"],
)
def test_parse_rejects_surrounding_whitespace_instead_of_stripping_it(text: str) -> None:
    with pytest.raises(InvalidImageNameError, match="whitespace around it") as info:
        ImageName.parse(text)
    assert repr(text) in str(info.value) and "SS_C_YYYYMMDD_NNNNNN" in str(info.value)


@pytest.mark.parametrize("text", ["", "MC_O_20241123_000123\x00", "MC_O_20241123 000123", 20241123, None])
def test_parse_rejects_anything_else_with_the_value_and_the_expected_form(text: object) -> None:
    with pytest.raises(InvalidImageNameError) as info:
        ImageName.parse(text)  # type: ignore[arg-type]
    assert repr(text) in str(info.value) and "SS_C_YYYYMMDD_NNNNNN" in str(info.value)


def test_an_invalid_part_is_reported_with_the_name_as_given() -> None:
    with pytest.raises(InvalidImageNameError) as info:
        ImageName.parse("MC_O_20241331_000123")
    assert str(info.value).startswith(
        "image name 'MC_O_20241331_000123' (SS_C_YYYYMMDD_NNNNNN): day_obs 20241331"
    )


def test_exposure_id_is_day_obs_times_1e5_plus_seq() -> None:
    assert ImageName.parse("MC_O_20260315_000051").exposure_id == 2026031500051
    # C shares the O counter since 2023-10-05: no offset.
    assert ImageName.parse("CC_C_20241108_000266").exposure_id == 2024110800266


def test_exposure_id_offsets_old_controllers_by_1000_years() -> None:
    assert ImageName.parse("MC_C_20230101_000007").exposure_id == 3023010100007
    assert ImageName.parse("MC_H_20260101_000007").exposure_id == 4026010100007
    assert ImageName.parse("MC_S_20250101_000007").exposure_id == 6025010100007
    assert ImageName.parse("MC_S_20250418_000007").exposure_id == 2025041800007


def test_exposure_id_rejects_six_digit_sequence_numbers() -> None:
    with pytest.raises(InvalidImageNameError, match="123456"):
        _ = ImageName.parse("MC_O_20241123_123456").exposure_id


def test_simulated_controllers() -> None:
    assert ImageName.parse("MC_S_20241123_000001").is_simulated
    assert not ImageName.parse("MC_O_20241123_000001").is_simulated


def _tai(year: int, month: int, day: int, hour: int, minute: int, second: int) -> float:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC).timestamp()


def test_day_obs_rolls_over_at_noon() -> None:
    assert day_obs_for(_tai(2024, 11, 24, 11, 59, 59)) == 20241123
    assert day_obs_for(_tai(2024, 11, 24, 12, 0, 0)) == 20241124
    assert day_obs_for(_tai(2024, 11, 24, 3, 0, 0)) == 20241123


def test_day_obs_bounds_are_inverse_of_day_obs_for() -> None:
    begin, end = day_obs_bounds(20241123)
    assert end - begin == 86400.0
    assert day_obs_for(begin) == 20241123
    assert day_obs_for(end - 0.001) == 20241123
    assert day_obs_for(end) == 20241124
    with pytest.raises(InvalidImageNameError):
        day_obs_bounds(20241199)


@settings(max_examples=200)
@given(
    code=st.sampled_from(sorted(CAMERA_CODES)),
    controller=st.sampled_from(sorted(CONTROLLERS)),
    day=st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2099, 12, 31)),
    seq=st.integers(1, 999_999),
)
def test_format_then_parse_round_trips_any_valid_name(
    code: str, controller: str, day: datetime.date, seq: int
) -> None:
    day_obs = day.year * 10000 + day.month * 100 + day.day
    name = ImageName(code, controller, day_obs, seq)
    text = str(name)
    assert len(text) == 20
    assert ImageName.parse(text) == name


@settings(max_examples=200)
@given(
    seq=st.integers(1, 999_999),
    position=st.sampled_from([5, 8, 12, 14, 19]),  # digits of day_obs and seq_num
    digit=st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()),
)
def test_a_non_ascii_digit_anywhere_makes_a_name_invalid(seq: int, position: int, digit: str) -> None:
    text = str(ImageName("MC", "O", 20241123, seq))
    assert ImageName.is_valid(text)
    assert not ImageName.is_valid(text[:position] + digit + text[position + 1 :])


@settings(max_examples=200)
@given(tai=st.floats(min_value=9.5e8, max_value=4e9, allow_nan=False))
def test_every_time_falls_inside_the_bounds_of_its_day_obs(tai: float) -> None:
    begin, end = day_obs_bounds(day_obs_for(tai))
    assert begin <= tai < end


def test_a_camera_parses_only_its_own_image_names() -> None:
    from lsst.ts.archiver.camera import get_camera

    latiss = get_camera("LATISS")
    assert str(latiss.parse_image_name("AT_O_20261123_000007")) == "AT_O_20261123_000007"
    with pytest.raises(InvalidImageNameError, match="'CC_O_20261123_000007' is not a LATISS image"):
        latiss.parse_image_name("CC_O_20261123_000007")
    with pytest.raises(InvalidImageNameError, match="SS_C_YYYYMMDD_NNNNNN"):
        latiss.parse_image_name(" AT_O_20261123_000007")
