"""A griffe extension of the docs build: Sphinx roles in docstrings become cross-references.

The docstrings name other objects as Sphinx does (``:class:`~etcd3py.errors.CompactedError```,
``:meth:`close```), which help() and IDEs show well; mkdocstrings reads Markdown, where a
role would show as raw text. This rewrites each role into an optional autorefs link (the
tag mkdocstrings itself writes for signatures): a link when the target is documented in the
site, its name as code otherwise (a private or relative target), with no warning.
Configured in mkdocs.yml (``extensions``) and checked by tests/test_docs_roles.py.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

__all__ = ["RstRoles", "rewrite"]

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):`(~?)([^`]+)`")


_TITLED = re.compile(r"^(.*?)\s*<([^<>]+)>$")  # Sphinx's "title <target>"


def _link(match: re.Match[str]) -> str:
    tilde, text = match.groups()
    titled = _TITLED.match(text.strip())
    if titled is not None:
        shown, target = titled.group(1), titled.group(2).strip()
    else:
        target = text.strip()
        shown = target.rsplit(".", 1)[-1] if tilde else target
    target = target.removesuffix("()")
    return (
        f'<autoref identifier="{html.escape(target)}" optional>'
        f"<code>{html.escape(shown)}</code></autoref>"
    )


def rewrite(text: str) -> str:
    """Return ``text`` with every Sphinx role rewritten as an optional cross-reference."""
    return _ROLE.sub(_link, text)


class RstRoles(griffe.Extension):
    """Rewrite the roles of every docstring as griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
