"""etcd3py's own cost per unary call, without the network: the figure optimisations move.

Wall-clock and even process-CPU figures of calls to a real server (``make bench``) carry
gRPC's threads and the machine's noise; this measures only what etcd3py adds. Each face's
client is made against the reference server, then its KV stub is replaced by an in-process
one that answers at once (an empty ``RangeResponse``/``PutResponse``; an awaitable that never
suspends in the asyncio face), and ``client.get(key)`` / ``client.put(key, value)`` run in a
tight loop: every option check, op, call description, retry fast path, metadata, context
and error mapping, and response view runs as in production. ``raw`` is the same fake stub
called directly, the floor. Rounds alternate the cases; each figure is the best round's mean.

    python -m bench.overhead [--calls 20000] [--rounds 5] [--json PATH]

Not a test: nothing asserts a time (``tests/e2e/test_bench_workers.py`` runs it small).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcd3py import Client, _pb
from etcd3py.aio import Client as AioClient
from testserver import Server

_REQUEST = _pb.rpc.RangeRequest(key=b"k")


class _Answered:
    """A ``grpc.aio`` call that has its response already: awaiting it never suspends."""

    __slots__ = ("_response",)

    def __init__(self, response: Any) -> None:
        self._response = response

    def cancel(self) -> bool:
        return False

    def __await__(self) -> Generator[Any, None, Any]:
        return self._response
        yield  # a generator: ``await`` takes its return value


class _FakeKV:
    """The KV stub methods the benchmark calls, answering at once (sync or asyncio)."""

    def __init__(self, aio: bool) -> None:
        self._aio = aio
        self._range = _pb.rpc.RangeResponse()
        self._put = _pb.rpc.PutResponse()

    def _answer(self, response: Any) -> Any:
        return _Answered(response) if self._aio else response

    def Range(self, request: Any, timeout: Any = None, metadata: Any = None) -> Any:
        return self._answer(self._range)

    def Put(self, request: Any, timeout: Any = None, metadata: Any = None) -> Any:
        return self._answer(self._put)


def _sync_cases(client: Client) -> dict[str, Callable[[], object]]:
    fake = _FakeKV(aio=False)
    client._transport.kv = fake  # type: ignore[assignment]
    return {
        "raw get": lambda: fake.Range(_REQUEST),
        "sync get": lambda: client.get("k"),
        "sync put": lambda: client.put("k", "v"),
    }


def _aio_cases(client: AioClient) -> dict[str, Callable[[], Awaitable[object]]]:
    fake = _FakeKV(aio=True)
    client._transport._channels.current.stubs["kv"] = fake  # type: ignore[index]

    async def raw() -> object:
        return await fake.Range(_REQUEST)

    return {
        "raw aio get": raw,
        "aio get": lambda: client.get("k"),
        "aio put": lambda: client.put("k", "v"),
    }


def _time_sync(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


async def _time_aio(fn: Callable[[], Awaitable[object]], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await fn()
    return (time.perf_counter() - start) / calls * 1e6


def measure(calls: int, rounds: int) -> dict[str, float]:
    """Return each case's µs per call: the best of ``rounds`` rounds of ``calls`` calls."""
    best: dict[str, float] = {}

    def keep(name: str, us: float) -> None:
        best[name] = min(us, best.get(name, us))

    with Server() as server, Client([server.endpoint]) as client:
        sync = _sync_cases(client)

        async def run_aio() -> None:
            async with AioClient([server.endpoint]) as aclient:
                cases = _aio_cases(aclient)
                for _ in range(rounds):
                    for name, fn in sync.items():
                        _time_sync(fn, calls // 10)  # warm-up
                        keep(name, _time_sync(fn, calls))
                    for name, afn in cases.items():
                        await _time_aio(afn, calls // 10)
                        keep(name, await _time_aio(afn, calls))

        asyncio.run(run_aio())
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = measure(args.calls, args.rounds)
    print("| case | µs per call | over the raw stub |")
    print("|---|---|---|")
    for name, us in figures.items():
        floor = figures["raw aio get" if name.startswith(("aio", "raw aio")) else "raw get"]
        print(f"| {name} | {us:.1f} | {us - floor:+.1f} |")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
