"""State-transition utilities (sal-wire.md §2.1)."""

from __future__ import annotations

import itertools

import pytest
from lsst.ts import salkit

from lsst.ts.salkit.csc_utils import get_expected_summary_states, make_state_transition_dict

State = salkit.State
ORDER = [State.OFFLINE, State.STANDBY, State.DISABLED, State.ENABLED]


def test_single_steps_use_the_standard_commands() -> None:
    transitions = make_state_transition_dict()
    assert transitions[(State.STANDBY, State.DISABLED)] == [("start", State.DISABLED)]
    assert transitions[(State.DISABLED, State.ENABLED)] == [("enable", State.ENABLED)]
    assert transitions[(State.ENABLED, State.DISABLED)] == [("disable", State.DISABLED)]
    assert transitions[(State.DISABLED, State.STANDBY)] == [("standby", State.STANDBY)]
    assert transitions[(State.STANDBY, State.OFFLINE)] == [("exitControl", State.OFFLINE)]
    assert transitions[(State.OFFLINE, State.STANDBY)] == [("enterControl", State.STANDBY)]


def test_paths_walk_the_ordered_states_one_step_at_a_time() -> None:
    transitions = make_state_transition_dict()
    for start, end in itertools.product(ORDER, ORDER):
        states = [state for _, state in transitions[(start, end)]]
        i, j = ORDER.index(start), ORDER.index(end)
        step = 1 if j >= i else -1
        expected = [ORDER[k] for k in range(i + step, j + step, step)]
        assert states == expected, (start, end)


def test_fault_leaves_through_standby() -> None:
    transitions = make_state_transition_dict()
    assert transitions[(State.FAULT, State.ENABLED)] == [
        ("standby", State.STANDBY),
        ("start", State.DISABLED),
        ("enable", State.ENABLED),
    ]
    assert get_expected_summary_states(State.FAULT, State.OFFLINE) == [State.STANDBY, State.OFFLINE]


def test_returned_dict_is_a_copy() -> None:
    make_state_transition_dict()[(State.STANDBY, State.ENABLED)].clear()
    assert len(make_state_transition_dict()[(State.STANDBY, State.ENABLED)]) == 2


def test_fault_is_never_a_target() -> None:
    with pytest.raises(ValueError, match="No state transition"):
        get_expected_summary_states(State.ENABLED, State.FAULT)
    assert get_expected_summary_states(int(State.ENABLED), int(State.STANDBY)) == [
        State.DISABLED,
        State.STANDBY,
    ]


async def test_set_summary_state_refuses_fault() -> None:
    with pytest.raises(ValueError, match="FAULT"):
        await salkit.set_summary_state(remote=None, state=State.FAULT)  # type: ignore[arg-type]
