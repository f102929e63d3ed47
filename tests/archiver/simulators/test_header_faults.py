"""Header fault policy: per-image and seeded random delays and drops."""

from __future__ import annotations

import pytest

from lsst.ts.archiver.simulators import HeaderFault, HeaderFaultPolicy


def test_named_images_are_dropped_or_delayed_and_others_untouched() -> None:
    policy = HeaderFaultPolicy(drop_images=["A"], delay_images={"B": 2.5})
    assert policy.decide("A") == HeaderFault(drop=True)
    assert policy.decide("B") == HeaderFault(delay=2.5)
    assert policy.decide("C") == HeaderFault()


def test_random_faults_follow_the_probabilities_and_repeat_for_a_seed() -> None:
    names = [f"image{i}" for i in range(400)]
    policy = HeaderFaultPolicy(drop_probability=0.25, delay_probability=0.5, delay=3.0, seed=7)
    decisions = [policy.decide(name) for name in names]
    again = HeaderFaultPolicy(drop_probability=0.25, delay_probability=0.5, delay=3.0, seed=7)
    assert [again.decide(name) for name in names] == decisions
    dropped = sum(d.drop for d in decisions)
    delayed = sum(d.delay == 3.0 for d in decisions)
    assert 60 < dropped < 140  # 100 expected
    assert 100 < delayed < 200  # 150 expected (half of the 300 not dropped)
    assert all(d.delay == 0.0 for d in decisions if d.drop)


@pytest.mark.parametrize(
    "kwargs",
    [{"drop_probability": 1.5}, {"delay_probability": -0.1}, {"delay": -1.0}, {"delay_images": {"A": -2.0}}],
)
def test_invalid_policies_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        HeaderFaultPolicy(**kwargs)
