"""Generate the client's forwarding methods from the concerns' own signatures (one source).

``client.put`` is ``client.kv.put``, ``client.watch`` is ``client.watcher.watch`` and so on,
in both faces: ``etcd3py/_forward/<concern>.py`` forwards the sync :class:`etcd3py.Client`
to the sync concerns, ``etcd3py/aio/_forward/<concern>.py`` the asyncio client to the aio
ones. Each generated method is the concern method's signature, read from the concern's source
(annotations and defaults as written there), a docstring that points to it, and one line
that looks the concern up on every call (so replacing ``client.kv`` changes ``client.put``).
A concern's coroutine becomes a coroutine that awaits it.

Run ``python scripts/gen_forward.py`` after changing a concern's public methods;
``--check`` exits 1 when a generated file is out of date (``tests/test_forwarding.py``
runs it).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Concern:
    """One concern: where its class is, and the client attribute that holds it."""

    attribute: str  # client.<attribute>
    module: str  # dotted module of the concern class
    cls: str  # the class whose public methods are forwarded
    mixin: str  # the generated mixin's name
    title: str  # "KV", "Watch"...


_NAMES = [
    ("kv", "kv", "KV", "KVMethods", "KV"),
    ("watcher", "watch", "Watcher", "WatchMethods", "Watch"),
    ("lease", "lease", "Lease", "LeaseMethods", "Lease"),
    ("cluster", "cluster", "Cluster", "ClusterMethods", "Cluster"),
    ("maintenance", "maintenance", "Maintenance", "MaintenanceMethods", "Maintenance"),
    ("auth", "auth", "Auth", "AuthMethods", "Auth"),
]

#: Each face: the package its concerns live in, and the package its mixins go to.
FACES = {
    "sync": ("etcd3py", "etcd3py._forward", "etcd3py.Client"),
    "aio": ("etcd3py.aio", "etcd3py.aio._forward", "etcd3py.aio.Client"),
}

#: The concern's own lifecycle is the client's: ``client.close()`` closes them all; the
#: watcher's hooks are what ``watch``/``add_watch_callback`` call, not the client's API.
NOT_FORWARDED = {"close", "open_watch", "open_watch_callback"}


def _concerns(face: str) -> list[Concern]:
    package = FACES[face][0]
    return [
        Concern(attr, f"{package}.{mod}", cls, mixin, title)
        for attr, mod, cls, mixin, title in _NAMES
    ]


def _source_path(module: str) -> Path:
    return ROOT / (module.replace(".", "/") + ".py")


def _imports(tree: ast.Module, module: str) -> dict[str, str]:
    """Map each name the concern module can use to the module it is imported from."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.ClassDef | ast.FunctionDef) and node in tree.body:
            found[node.name] = module
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = module
    return found


def _names_in(nodes: list[ast.expr | None], *, annotations: bool = True) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if node is None:
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
            elif annotations and isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                # a quoted annotation
                names |= _names_in([ast.parse(sub.value, mode="eval").body])
    return names


def _call_arguments(args: ast.arguments) -> str:
    parts = [a.arg for a in args.posonlyargs[0:] + args.args[1:]]
    if args.vararg is not None:
        parts.append(f"*{args.vararg.arg}")
    parts += [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
    if args.kwarg is not None:
        parts.append(f"**{args.kwarg.arg}")
    return ", ".join(parts)


def _first_line(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(node) or ""
    line = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return line.removesuffix(".").split(";")[0].rstrip(".")


def _method(concern: Concern, node: ast.FunctionDef | ast.AsyncFunctionDef, src: str) -> str:
    head = ast.get_source_segment(src, node) or ""
    # the signature as written: from "def" to the colon that ends it
    start = head.index("def ")
    body_start = node.body[0]
    signature_end = head.rfind(":", 0, _offset(src, node, body_start))
    signature = head[start:signature_end]
    is_async = isinstance(node, ast.AsyncFunctionDef)
    prefix = "async " if is_async else ""
    wait = "await " if is_async else ""
    target = f"self.{concern.attribute}.{node.name}"
    where = f"{concern.module}.{concern.cls}.{node.name}"
    summary = f"{_first_line(node)}: ``client.{concern.attribute}.{node.name}``."
    lines = [*textwrap.wrap(summary, width=88), "", f"See :meth:`{where}`."]
    doc = "\n".join(f"        {line}" if line else "" for line in lines).lstrip()
    call = f"return {wait}{target}({_call_arguments(node.args)})"
    return f'    {prefix}{signature}:\n        """{doc}\n        """\n        {call}\n'


def _offset(src: str, node: ast.AST, body: ast.stmt) -> int:
    """The offset of ``body`` inside ``node``'s source segment."""
    lines = src.splitlines(keepends=True)

    def absolute(line: int, col: int) -> int:
        return sum(len(x) for x in lines[: line - 1]) + col

    return absolute(body.lineno, body.col_offset) - absolute(node.lineno, node.col_offset)  # type: ignore[attr-defined]


def generate(concern: Concern, face: str) -> str:
    """Return the source of one generated mixin module."""
    path = _source_path(concern.module)
    src = path.read_text()
    tree = ast.parse(src)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == concern.cls)
    methods = [
        n
        for n in cls.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and not n.name.startswith("_")
        and n.name not in NOT_FORWARDED
        and not any(isinstance(d, ast.Name) and d.id == "property" for d in n.decorator_list)
    ]
    imports = _imports(tree, concern.module)
    used: set[str] = {concern.cls}
    for m in methods:
        a = m.args
        every = a.posonlyargs + a.args + a.kwonlyargs
        used |= _names_in([p.annotation for p in every])
        used |= _names_in(list(a.defaults) + list(a.kw_defaults), annotations=False)
        used |= _names_in([m.returns])
    by_module: dict[str, set[str]] = {}
    for name in sorted(used):
        if name in {"None", "bool", "int", "float", "str", "bytes", "list", "dict", "tuple"}:
            continue
        origin = imports.get(name)
        if origin is None:
            raise SystemExit(f"{concern.module}: cannot tell where {name!r} comes from")
        by_module.setdefault(origin, set()).add(name)
    import_lines = "\n".join(
        f"from {mod} import {', '.join(sorted(names))}" for mod, names in sorted(by_module.items())
    )
    client = FACES[face][2]
    body = "\n".join(_method(concern, m, src) for m in methods)
    return (
        f'"""The ``{client}`` methods that forward to ``client.{concern.attribute}``.\n\n'
        f"Generated by ``scripts/gen_forward.py`` from :class:`{concern.module}.{concern.cls}`;\n"
        'do not edit: change the concern, then run the script.\n"""\n\n'
        "from __future__ import annotations\n\n"
        f"{import_lines}\n\n"
        f'__all__ = ["{concern.mixin}"]\n\n\n'
        f"class {concern.mixin}:\n"
        f'    """The {concern.title} methods of a client.\n\n'
        f"    Each looks ``self.{concern.attribute}`` up on every call, so replacing "
        f"``client.{concern.attribute}``\n"
        "    changes what it does, as in clientv3. Arguments, errors and the ``timeout``/``ctx``\n"
        "    rules are the concern's.\n"
        '    """\n\n'
        f"    {concern.attribute}: {concern.cls}\n\n"
        f"{body}"
    )


def _package_init(face: str) -> str:
    concerns = _concerns(face)
    package = FACES[face][1]
    lines = "\n".join(
        f"from {package}.{c.module.rsplit('.', 1)[1]} import {c.mixin}" for c in concerns
    )
    names = "\n".join(f'    "{c.mixin}",' for c in sorted(concerns, key=lambda c: c.mixin))
    return (
        f'"""The forwarding methods of :class:`{FACES[face][2]}`, one mixin per concern.\n\n'
        "``client.put`` is ``client.kv.put``, ``client.watch`` is ``client.watcher.watch``, "
        "and so on.\nGenerated by ``scripts/gen_forward.py``; do not edit.\n"
        '"""\n\n'
        "from __future__ import annotations\n\n"
        f"{lines}\n\n"
        f"__all__ = [\n{names}\n]\n"
    )


def outputs(faces: list[str]) -> dict[Path, str]:
    """Every generated file and its text (formatted by ruff)."""
    files: dict[Path, str] = {}
    for face in faces:
        out = ROOT / FACES[face][1].replace(".", "/")
        files[out / "__init__.py"] = _package_init(face)
        for c in _concerns(face):
            files[out / f"{c.module.rsplit('.', 1)[1]}.py"] = generate(c, face)
    return {path: _format(path, text) for path, text in files.items()}


def _format(path: Path, text: str) -> str:
    ruff = [sys.executable, "-m", "ruff"]
    rel = str(path.relative_to(ROOT))
    fixed = (
        subprocess.run(
            [*ruff, "check", "--fix", "--quiet", "--stdin-filename", rel, "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
        or text
    )
    return subprocess.run(
        [*ruff, "format", "--stdin-filename", rel, "-"],
        input=fixed,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    parser.add_argument("--face", choices=sorted(FACES), action="append")
    args = parser.parse_args()
    # a face whose package is not there yet (a branch without it) has nothing to forward to
    faces = args.face or [f for f in sorted(FACES) if _source_path(f"{FACES[f][0]}.kv").exists()]
    stale = []
    for path, text in outputs(faces).items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
