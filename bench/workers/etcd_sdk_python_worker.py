"""Benchmark worker for etcd-sdk-python (PyPI ``etcd-sdk-python`` 0.0.7, module ``pyetcd``).

Runs in ``bench/.venvs/etcd_sdk_python``. ``pyetcd`` is a fork of python-etcd3 with the same
public API (``client(host=, port=)``, ``put``, ``get``, ``get_prefix``,
``add_watch_prefix_callback(..., start_revision=)``, ``add_watch_callback``), so the workloads
are those of ``python_etcd3_worker.py``, run over this module.

What differs (read from its source): ``Etcd3Client`` is a ``MultiEndpointEtcd3Client`` with one
endpoint; every call reaches its stub through properties that check the endpoint's failure
state (``time.time()`` per call). A call failing with UNAVAILABLE (and a few other codes) marks
the endpoint failed for ``time_retry`` (300 s): with one endpoint and no failover, every later
call raises until then. The watch thread ends when its stream breaks (python-etcd3's loops);
as there, every callback receives the error and is dropped: no resume.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_worker
from python_etcd3_worker import make_handlers

__all__: list[str] = []

if __name__ == "__main__":
    import pyetcd

    sys.exit(run_worker(make_handlers(pyetcd)))
