"""One virtualenv per client under ``bench/.venvs/``, built from ``bench/requirements/``.

A venv is reused while its requirements file (and the interpreter) are unchanged: a stamp
file in the venv holds their hash. A venv that cannot be built gives the reason (pip's last
error line), which the tables show as ``unavailable: ...``; the run goes on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["CLIENTS", "VENV_OF", "Venv", "ensure_venv", "installed_versions", "worker_path"]

REPO = Path(__file__).resolve().parents[2]
VENVS = REPO / "bench" / ".venvs"
REQUIREMENTS = REPO / "bench" / "requirements"
WORKERS = REPO / "bench" / "workers"
STAMP = ".bench-stamp"
PIP_TIMEOUT_S = 900.0

# Every client, in table order: the sync clients after raw sync stubs (their ratios' baseline),
# then the asyncio clients after the raw grpc.aio stubs (theirs; see report.baseline).
CLIENTS = (
    "raw_sync",
    "etcd3py",
    "python_etcd3",
    "etcd_sdk_python",
    "raw_aio",
    "etcd3py_aio",
    "aetcd",
    "etcd_client_py",
    "etcd3aio",
)
# The venv (and requirements file) of each client: the two raw workers share one, and so do
# etcd3py's two faces.
VENV_OF = {"raw_sync": "raw", "raw_aio": "raw", "etcd3py_aio": "etcd3py"}


@dataclasses.dataclass(frozen=True)
class Venv:
    """A client's venv: its python, or why there is none.

    Attributes:
        python: the interpreter path, or None when unavailable.
        reason: why it is unavailable ("" when it is available).
    """

    python: Path | None
    reason: str = ""


def worker_path(client: str) -> Path:
    """Return ``bench/workers/<client>_worker.py``."""
    return WORKERS / f"{client}_worker.py"


def _hash(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _pip_reason(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["pip failed"])[-1][:300]


def ensure_venv(name: str, log: bool = True) -> Venv:
    """Build (or reuse) the venv ``bench/.venvs/<name>`` from ``bench/requirements/<name>.txt``.

    pip runs with the repo as its working directory, so ``-e .`` means this repo.

    Args:
        name: the venv's name (a client, or ``raw``).
        log: print a line when building.

    Returns:
        The venv, or the reason it is unavailable.
    """
    requirements = REQUIREMENTS / f"{name}.txt"
    if not requirements.is_file():
        return Venv(None, f"no {requirements.relative_to(REPO)}")
    root = VENVS / name
    python = root / "bin" / "python"
    stamp = root / STAMP
    want = _hash(requirements)
    if python.exists() and stamp.is_file() and stamp.read_text() == want:
        return Venv(python)
    if log:
        print(f"[bench] building venv {root.relative_to(REPO)} ...", file=sys.stderr, flush=True)
    shutil.rmtree(root, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(root)],
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-U", "pip"],
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
         str(requirements)],
    ]  # fmt: skip
    for argv in steps:
        try:
            done = subprocess.run(
                argv, cwd=REPO, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return Venv(None, f"{argv[2]} timed out after {PIP_TIMEOUT_S:.0f}s")
        if done.returncode != 0:
            return Venv(None, _pip_reason(done.stderr + done.stdout))
    stamp.write_text(want)
    return Venv(python)


def installed_versions(python: Path) -> dict[str, str]:
    """Return ``{distribution: version}`` of everything installed in a venv ({} on failure)."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    try:
        out = subprocess.run(
            [str(python), "-I", "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        versions = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    return {str(k): str(v) for k, v in sorted(versions.items()) if k not in ("pip", "setuptools")}
