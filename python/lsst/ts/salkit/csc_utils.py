"""Summary-state transitions: the paths between states and walking them."""

from __future__ import annotations

__all__ = [
    "STATE_TRANSITION_TIMEOUT",
    "get_expected_summary_states",
    "make_state_transition_dict",
    "set_summary_state",
]

import functools
import typing

from .enums import State

if typing.TYPE_CHECKING:
    from .remote import Remote

#: Default seconds to wait for each state-transition command.
STATE_TRANSITION_TIMEOUT = 30.0

#: The states a CSC walks through, in order, with the command that moves
#: one step up (to the right) and one step down (to the left).
_ORDERED_STATES = (State.OFFLINE, State.STANDBY, State.DISABLED, State.ENABLED)
_STEP_COMMANDS = {
    (State.OFFLINE, State.STANDBY): "enterControl",
    (State.STANDBY, State.DISABLED): "start",
    (State.DISABLED, State.ENABLED): "enable",
    (State.ENABLED, State.DISABLED): "disable",
    (State.DISABLED, State.STANDBY): "standby",
    (State.STANDBY, State.OFFLINE): "exitControl",
}


@functools.cache
def _transition_dict() -> dict[tuple[State, State], tuple[tuple[str, State], ...]]:
    result: dict[tuple[State, State], tuple[tuple[str, State], ...]] = {}
    for i, start in enumerate(_ORDERED_STATES):
        for j, end in enumerate(_ORDERED_STATES):
            step = 1 if j >= i else -1
            path = []
            for k in range(i, j, step):
                here, there = _ORDERED_STATES[k], _ORDERED_STATES[k + step]
                path.append((_STEP_COMMANDS[(here, there)], there))
            result[(start, end)] = tuple(path)
    for end in _ORDERED_STATES:
        result[(State.FAULT, end)] = (("standby", State.STANDBY),) + result[(State.STANDBY, end)]
    return result


def make_state_transition_dict() -> dict[tuple[State, State], list[tuple[str, State]]]:
    """Return the commands that move a CSC from one summary state to another.

    Returns
    -------
    transitions : `dict`
        ``(start_state, end_state)``: list of ``(command_name, new_state)``
        to issue in order, along OFFLINE <-> STANDBY <-> DISABLED <-> ENABLED.
        From FAULT the path starts with ``standby``. FAULT is never an
        end state; a start state equal to the end state gives an empty list.
    """
    return {key: list(path) for key, path in _transition_dict().items()}


def get_expected_summary_states(initial_state: State | int, final_state: State | int) -> list[State]:
    """Return the summary states visited going from one state to another.

    Parameters
    ----------
    initial_state, final_state : `State` or `int`
        Start and end; ``final_state`` must not be FAULT.

    Returns
    -------
    states : `list` [`State`]
        The states after each command, ending with ``final_state``
        (empty if the two are equal).

    Raises
    ------
    ValueError
        If there is no path (e.g. ``final_state`` is FAULT).
    """
    key = (State(initial_state), State(final_state))
    try:
        path = _transition_dict()[key]
    except KeyError:
        raise ValueError(f"No state transition from {key[0]!r} to {key[1]!r}") from None
    return [state for _, state in path]


async def set_summary_state(
    remote: Remote,
    state: State | int,
    override: str = "",
    timeout: float = STATE_TRANSITION_TIMEOUT,
) -> list[State]:
    """Command a CSC to a summary state, issuing each command of the path.

    Parameters
    ----------
    remote : `Remote`
        Remote of the CSC; must read ``summaryState``.
    state : `State` or `int`
        Desired state (not FAULT).
    override : `str`
        ``configurationOverride`` of the ``start`` command, if issued.
    timeout : `float`
        Seconds to wait for the current state and for each command.

    Returns
    -------
    states : `list` [`State`]
        The current state followed by the states commanded.

    Raises
    ------
    ValueError
        If ``state`` is FAULT or not a state.
    AckError, AckTimeoutError
        If a command fails.
    """
    final_state = State(state)
    if final_state == State.FAULT:
        raise ValueError("Cannot command a CSC to the FAULT state")
    data = await remote.evt_summaryState.aget(timeout=timeout)  # type: ignore[attr-defined]
    current_state = State(data.summaryState)
    states = [current_state]
    for command, new_state in _transition_dict()[(current_state, final_state)]:
        cmd = getattr(remote, f"cmd_{command}")
        if command == "start":
            await cmd.set_start(configurationOverride=override, timeout=timeout)
        else:
            await cmd.start(timeout=timeout)
        states.append(new_state)
    return states
