"""The docs build's griffe extension (scripts/griffe_rst_roles.py): Sphinx roles to links."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "griffe_rst_roles.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("griffe_rst_roles", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("role", "target", "shown"),
    [
        (":class:`etcd3py.Client`", "etcd3py.Client", "etcd3py.Client"),
        (":meth:`~etcd3py.kv.KV.get`", "etcd3py.kv.KV.get", "get"),
        (":func:`pb_field()`", "pb_field", "pb_field()"),
        (":meth:`Txn.commit <etcd3py.txn.Txn.commit>`", "etcd3py.txn.Txn.commit", "Txn.commit"),
        (":data:`END`", "END", "END"),
    ],
)
def test_a_role_becomes_an_optional_cross_reference(role: str, target: str, shown: str) -> None:
    pytest.importorskip("griffe")
    text = _module().rewrite(f"See {role}, then go on.")
    link = f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'
    assert text == f"See {link}, then go on."


def test_text_without_roles_is_unchanged() -> None:
    pytest.importorskip("griffe")
    text = "Use ``client.get`` and `code`: a <b>tag</b> & all."
    assert _module().rewrite(text) == text
