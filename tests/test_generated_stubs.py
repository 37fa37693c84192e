"""The committed stubs in etcd3py/_gen are exactly what scripts/gen_protos.py makes of protos/.

The first run builds the pinned generator virtualenv (.venv-protoc), which needs the package
index and takes a while; later runs reuse it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATE_TIMEOUT = 300.0


@pytest.mark.timeout(GENERATE_TIMEOUT + 30)
def test_generated_stubs_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, (
        f"gen_protos.py --check exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-4000:]}"
    )
