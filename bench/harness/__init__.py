"""The benchmark harness of issue 5: etcd3py against raw gRPC stubs and other Python clients.

Run it as ``python -m bench.harness`` (or ``make bench``); see ``bench/README.md``. Modules:
``cli`` (options, the interleaved run), ``venvs`` (one venv per client), ``servers`` (etcd or
the reference server), ``workloads`` (cases, data, per-run params), ``runner`` (one worker
run), ``report`` (medians, ratios, tables).
"""

from __future__ import annotations

__all__: list[str] = []
