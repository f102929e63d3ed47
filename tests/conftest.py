"""Shared test configuration: the server fixtures and the ``integration`` marker.

The fixtures of `lsst.ts.archiver.testing.fixtures` (PostgreSQL, SeaweedFS,
Kafka) are available to every test. A test is marked ``integration`` when it
starts a real server or another process, or runs a whole Archiver end to end;
``make test-fast`` (``pytest -m "not integration"``) leaves those out and
``make test`` runs everything. Test modules mark the tests that start
something themselves (``pytestmark = pytest.mark.integration``); the rule
below adds the mark to every test that uses a server fixture (whatever
module it is in), and to the modules listed here that run child processes.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["lsst.ts.archiver.testing.fixtures"]

# Fixtures of tests/archiver/delivery that start a server (tansu, PostgreSQL)
# or mount a tmpfs.
_LOCAL_SERVER_FIXTURES = frozenset({"brokers", "pausable_postgres", "small_disk"})

# Test modules that run a child process.
_PROCESS_MODULES = frozenset({("delivery", "test_delivery_crash.py")})

# Parametrized fixtures whose "postgresql" case uses the PostgreSQL server
# (through request.getfixturevalue, which the fixture names do not show).
_POSTGRES_PARAMETERS = frozenset({"ledger_url"})


def _is_integration(item: pytest.Item) -> bool:
    from lsst.ts.archiver.testing.fixtures import SERVER_FIXTURES  # loaded by pytest_plugins first

    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & (SERVER_FIXTURES | _LOCAL_SERVER_FIXTURES):
        return True
    if (item.path.parent.name, item.path.name) in _PROCESS_MODULES:
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(
        callspec.params.get(name) == "postgresql" for name in _POSTGRES_PARAMETERS
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``integration`` the tests that use a real server or process."""
    for item in items:
        if _is_integration(item):
            item.add_marker(pytest.mark.integration)
