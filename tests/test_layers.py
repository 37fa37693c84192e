"""The layers of DESIGN.md hold: each module imports only what its layer may.

values and messages (no gRPC) -> the sans-IO machines -> the wire (one per face) -> the
concerns -> the faces -> the wrappers built on public interfaces (namespace, concurrency).
Read from each module's own import statements (``TYPE_CHECKING`` imports included), so a
rule broken anywhere names the module and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "etcd3py"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(p): p for p in PACKAGE.rglob("*.py") if "_gen" not in p.relative_to(PACKAGE).parts
}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in patterns)


#: The machines and the values: they decide, they never wait.
SANS_IO = (
    "etcd3py._watch_mux",
    "etcd3py._reconnect",
    "etcd3py._retry",
    "etcd3py._flow_run",
    "etcd3py._calls",
    "etcd3py._keys",
    "etcd3py._ints",
    "etcd3py._responses",
    "etcd3py._watch_views",
    "etcd3py._lease_views",
    "etcd3py._auth_views",
    "etcd3py._cluster_views",
    "etcd3py._maintenance_views",
    "etcd3py._pb",
    "etcd3py.models",
    "etcd3py.op",
    "etcd3py.compare",
)
#: The wire of either face, and the faces' drivers.
WIRE = (
    "grpc",
    "etcd3py._gen.etcdserverpb.rpc_pb2_grpc",
    "etcd3py._stubs",
    "etcd3py._transport",
    "etcd3py._aio_transport",
    "etcd3py._aio_ctx",
    "etcd3py._channel",
    "etcd3py._streams",
    "etcd3py._watch_stream",
    "etcd3py._keepalive",
    "etcd3py.aio._watch_stream",
    "etcd3py.aio._keepalive",
)
#: Built on the clients' public interfaces only.
WRAPPERS = (
    "etcd3py.namespace",
    "etcd3py.concurrency",
    "etcd3py.aio.namespace",
    "etcd3py.aio.concurrency",
)
#: What the wrappers may not reach into: the wire and the faces' private parts.
PRIVATE_TO_THE_CLIENT = WIRE


def _cases(patterns: tuple[str, ...]) -> list[str]:
    return sorted(name for name in MODULES if _matches(name, patterns))


@pytest.mark.parametrize("module", _cases(SANS_IO))
def test_the_sans_io_layers_import_no_grpc_and_no_wire(module: str) -> None:
    bad = sorted(i for i in _imports(MODULES[module]) if _matches(i, WIRE))
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize("module", _cases(WRAPPERS))
def test_wrappers_use_public_interfaces_only(module: str) -> None:
    bad = sorted(i for i in _imports(MODULES[module]) if _matches(i, PRIVATE_TO_THE_CLIENT))
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize(
    "module",
    [
        m
        for m in sorted(MODULES)
        if not _matches(m, (*WRAPPERS, "etcd3py.aio.client", "etcd3py.cli", "etcd3py.__main__"))
    ],
)
def test_concerns_and_below_never_import_wrappers(module: str) -> None:
    # the clients' with_namespace() imports its namespace wrapper inside the method: the
    # one way down, checked here by name so it stays that one
    imports = _imports(MODULES[module])
    allowed = {"etcd3py.namespace._client", "etcd3py.namespace._client.NamespacedClient"}
    bad = sorted(i for i in imports if _matches(i, WRAPPERS) and i not in allowed)
    if module == "etcd3py":
        bad = [i for i in bad if i != "etcd3py.namespace"]  # re-exported for users
    assert bad == [], f"{module} imports {bad}"


#: The pytest plugin: built on the client and the reference server, imported by pytest only.
TESTING = ("etcd3py.testing",)


@pytest.mark.parametrize("module", [m for m in sorted(MODULES) if not _matches(m, TESTING)])
def test_the_client_never_imports_the_reference_server_or_the_plugin(module: str) -> None:
    imports = _imports(MODULES[module])
    bad = sorted(i for i in imports if _matches(i, ("testserver", *TESTING)))
    assert bad == [], f"{module} imports {bad}"


#: The etcdctl-compatible command line: built on the sync client's public interface.
CLI = ("etcd3py.cli", "etcd3py.__main__")


@pytest.mark.parametrize("module", _cases(CLI))
def test_the_command_line_uses_the_clients_public_interface(module: str) -> None:
    bad = sorted(i for i in _imports(MODULES[module]) if _matches(i, PRIVATE_TO_THE_CLIENT))
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize("module", [m for m in sorted(MODULES) if not _matches(m, CLI)])
def test_the_library_never_imports_the_command_line(module: str) -> None:
    bad = sorted(i for i in _imports(MODULES[module]) if _matches(i, CLI))
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize("module", _cases(("etcd3py.aio",)))
def test_the_asyncio_face_never_imports_the_sync_wire(module: str) -> None:
    sync_wire = ("etcd3py._transport.Transport", "etcd3py._watch_stream", "etcd3py._channel")
    bad = sorted(i for i in _imports(MODULES[module]) if _matches(i, sync_wire))
    assert bad == [], f"{module} imports {bad}"


SERVER = PACKAGE.parent / "testserver"
LIBRARY = sorted(
    p
    for p in [*PACKAGE.rglob("*.py"), *SERVER.rglob("*.py")]
    if "_gen" not in p.parts and p.name != "__main__.py"  # a command line prints its output
)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_the_library_never_prints_and_logs_under_its_name(path: Path) -> None:
    tree = ast.parse(path.read_text())
    prints = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]
    assert prints == [], f"{path.name} calls print() at lines {prints}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "getLogger"
        ):
            (arg,) = node.args
            named = isinstance(arg, ast.Constant) and str(arg.value).startswith(
                ("etcd3py", "testserver")
            )
            own = isinstance(arg, ast.Name) and arg.id == "__name__"
            assert named or own, f"{path.name}:{node.lineno} logs under another name"
