"""The public surface: sorted, complete ``__all__`` lists, docstrings everywhere, py.typed.

Public modules are those of ``etcd3py`` and ``testserver`` with no leading underscore in any
part of their dotted name. Each lists its API in a sorted ``__all__`` that names every class
and function it defines; every public class, function, method and property has a docstring
(one inherited from the method it overrides counts, as mkdocstrings shows that one).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("etcd3py", "testserver")

# Names API.md promises at the top level of etcd3py; a name whose issue has not landed yet is
# a strict xfail, so the mark must go when it arrives.
CONTRACT_NAMES = [
    "Client",
    "Compare",
    "Context",
    "EventType",
    "Op",
    "SortOrder",
    "SortTarget",
    "TLSConfig",
    "namespace",
]


def _public_module_names() -> list[str]:
    names = []
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
            parts = info.name.split(".")
            if not any(part.startswith("_") for part in parts):
                names.append(info.name)
    return sorted(names)


PUBLIC_MODULES = _public_module_names()


def _is_package(module: ModuleType) -> bool:
    return hasattr(module, "__path__")


def _defined_names(module: ModuleType) -> set[str]:
    """Return the public classes and functions a module defines (a package: re-exports too)."""
    names = set()
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        origin = getattr(obj, "__module__", "") or ""
        reexported = _is_package(module) and origin.startswith(module.__name__ + ".")
        if origin == module.__name__ or reexported:
            names.add(name)
    return names


def _all_of(module: ModuleType) -> list[str]:
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module.__name__} has no __all__"
    assert all(isinstance(n, str) for n in exported)
    return list(exported)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_and_complete(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = _all_of(module)
    assert exported == sorted(exported), f"{module_name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{module_name}.__all__ has duplicates"
    missing_attrs = [n for n in exported if not hasattr(module, n)]
    assert not missing_attrs, f"{module_name}.__all__ names what it lacks: {missing_attrs}"
    unlisted = sorted(_defined_names(module) - set(exported))
    assert not unlisted, f"{module_name} defines public names missing from __all__: {unlisted}"


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_contract_names_are_exported(name: str) -> None:
    import etcd3py

    assert name in _all_of(etcd3py), f"etcd3py.__all__ lacks {name} (see API.md)"
    assert hasattr(etcd3py, name), f"etcd3py has no {name}"


def _members(cls: type) -> list[tuple[str, object]]:
    """Return the public functions and properties a class itself defines."""
    found: list[tuple[str, object]] = []
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        obj = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
        if inspect.isfunction(obj) or isinstance(obj, property):
            found.append((name, obj))
    return found


def _undocumented(module: ModuleType) -> list[str]:
    missing = []
    if not inspect.getdoc(module):
        missing.append(f"{module.__name__} (module)")
    for name in sorted(_defined_names(module)):
        obj = getattr(module, name)
        if getattr(obj, "__module__", None) != module.__name__:
            continue  # re-exported: checked where it is defined
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            for member_name, _member in _members(obj):
                if not _inherited_doc(obj, member_name):
                    missing.append(f"{name}.{member_name}")
    return missing


def _inherited_doc(cls: type, name: str) -> str | None:
    """Return the docstring of ``cls.name`` or of the first base that documents it."""
    for klass in cls.__mro__:
        raw = vars(klass).get(name)
        if raw is None:
            continue
        obj = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
        doc = getattr(obj, "__doc__", None)
        if doc:
            return str(doc)
    return None


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_names_have_docstrings(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = _undocumented(module)
    assert not missing, f"{module_name}: no docstring on {missing}"


def test_py_typed_is_shipped() -> None:
    import etcd3py

    package_dir = Path(etcd3py.__file__).parent
    assert (package_dir / "py.typed").is_file()
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"]["package-data"]["etcd3py"]
    assert "py.typed" in package_data
    assert any(p.endswith("*.pyi") for p in package_data), "generated .pyi stubs not shipped"
    assert list((package_dir / "_gen").rglob("*.pyi")), "no .pyi beside the generated stubs"
    assert (ROOT / "testserver" / "py.typed").is_file()
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["testserver"]


def test_the_version_is_the_package_metadatas() -> None:
    import importlib.metadata

    import etcd3py

    assert importlib.metadata.version("etcd3py") == etcd3py.__version__
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" in project["dynamic"] and project["license"] == "Apache-2.0"


def _error_tree(text: str) -> list[str]:
    """Return the lines of the first drawing of the error tree in ``text``, unindented."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "EtcdError")
    indent = len(lines[start]) - len(lines[start].lstrip())
    tree = []
    for line in lines[start:]:
        if not line.strip() or line.strip().startswith("```"):
            break
        tree.append(line[indent:].rstrip())
    return tree


def test_docs_draw_the_error_tree_of_the_code() -> None:
    import etcd3py.errors

    drawn = _error_tree((ROOT / "docs" / "errors.md").read_text())
    code = _error_tree(etcd3py.errors.__doc__ or "")
    assert drawn == code, "docs/errors.md: copy the tree of etcd3py/errors.py's docstring"
