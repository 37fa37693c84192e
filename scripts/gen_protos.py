"""Regenerate the Python stubs in ``etcd3py/_gen`` from ``protos/``.

The stubs are generated with a pinned, deliberately old ``grpcio-tools`` (protoc 21) so that
the committed code loads on every protobuf runtime from 3.20 to the newest, and carries no
runtime version check that would force users onto one protobuf release. The typed ``.pyi``
stubs come from a pinned ``mypy-protobuf``. Both run in their own virtualenv
(``.venv-protoc``), made on first use, so the project's own environment may hold any
protobuf version.

Usage::

    python scripts/gen_protos.py            # rewrite etcd3py/_gen
    python scripts/gen_protos.py --check    # exit 1 when etcd3py/_gen is stale
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "etcd3py" / "_gen"
TOOLS_VENV = ROOT / ".venv-protoc"
PINS = ["grpcio-tools==1.51.3", "mypy-protobuf==3.6.0"]
PROTO_PACKAGES = ("etcdserverpb", "mvccpb", "authpb")
_IMPORT = re.compile(rf"^(from|import) ({'|'.join(PROTO_PACKAGES)})\b", re.M)


def _tools_python() -> Path:
    """Return the interpreter of the pinned generator virtualenv, making it if needed."""
    python = TOOLS_VENV / "bin" / "python"
    stamp = TOOLS_VENV / "pins.txt"
    if not python.exists() or not stamp.exists() or stamp.read_text() != "\n".join(PINS):
        shutil.rmtree(TOOLS_VENV, ignore_errors=True)
        venv.create(TOOLS_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINS],
            check=True,
        )
        stamp.write_text("\n".join(PINS))
    return python


def generate(dest: Path) -> None:
    """Generate every stub of ``protos/`` into ``dest`` with package-absolute imports."""
    python = _tools_python()
    protos = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    plugin_dir = python.parent
    subprocess.run(
        [
            str(python),
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"--plugin=protoc-gen-mypy={plugin_dir / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={plugin_dir / 'protoc-gen-mypy_grpc'}",
            f"--python_out={dest}",
            f"--grpc_python_out={dest}",
            f"--mypy_out={dest}",
            f"--mypy_grpc_out={dest}",
            *protos,
        ],
        check=True,
        cwd=PROTOS,
    )
    for path in dest.rglob("*.py*"):
        if path.suffix not in (".py", ".pyi"):
            continue
        text = _IMPORT.sub(r"\1 etcd3py._gen.\2", path.read_text())
        path.write_text(text)
    (dest / "__init__.py").write_text(
        '"""Generated etcd v3 API stubs: import them through etcd3py._pb."""\n'
    )
    for package in PROTO_PACKAGES:
        (dest / package / "__init__.py").write_text("")


def _same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(
        p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    files_b = sorted(
        p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    if files_a != files_b:
        return False
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when etcd3py/_gen is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "_gen"
        fresh.mkdir()
        generate(fresh)
        if args.check:
            if _same_tree(fresh, OUT):
                return 0
            print("etcd3py/_gen is stale: run `make protos` and commit the result", file=sys.stderr)
            return 1
        shutil.rmtree(OUT, ignore_errors=True)
        shutil.copytree(fresh, OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
