"""Machine instructions per call: raw gRPC stubs, etcd3py (both faces), the other clients.

The steadiest figure of what a call costs the client's process: valgrind's callgrind counts
every instruction the process runs (the Python interpreter, gRPC's C core and its threads),
so the count does not move with the machine's load as time does. Each case runs in its own
process against one real etcd 3.5.1: once with ``--calls`` calls and once with none, after
the same warm-up; the difference divided by ``--calls`` is its instructions per call. The
network wait costs no instruction, so a client's figure over the raw stub's is exactly the
work it adds.

    python -m bench.instructions [--calls 1000] [--only raw_get,get] [--json PATH]

Cases: ``raw_get``/``raw_put`` (the generated sync stubs on a plain channel, as
``bench/workers/raw_sync_worker.py``), ``get``/``put`` (``etcd3py.Client``), ``aio_raw_get``/
``aio_raw_put`` (``grpc.aio`` stubs), ``aio_get``/``aio_put`` (``etcd3py.aio.Client``). A
get reads one 256-byte value; a put writes one.

The other Python clients have ``<client>_get``/``<client>_put``: ``python_etcd3``,
``etcd_sdk_python`` (sync, over the sync raw stubs in the report) and ``aetcd``, ``etcd3aio``,
``etcd_client_py`` (asyncio, over the ``grpc.aio`` stubs). Their counted process runs in the
client's own venv (``bench/.venvs/<client>``, built as ``bench/harness/venvs.py`` builds it)
and calls it as its worker does (``bench/peer_calls.py``); it never imports etcd3py.

The ``own_*`` cases count etcd3py's own work alone, gRPC left out: the client's channel
answers every call at once with an empty response (sync: a fake channel under the client's
switchable channel, so the forwarder counts; asyncio: a fake KV stub on the current channel,
as ``bench/overhead.py``), ``own_floor``/``own_aio_floor`` call such a fake method directly.
They do not move with gRPC's background threads, so they show a change of a few hundred
instructions. Needs ``valgrind`` (Debian's package); not a test: nothing asserts a count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Only the standard library at module level: a peer case's counted process runs this module
# in its client's venv (bench.harness.venvs imports nothing else).
from bench.harness.venvs import REPO, ensure_venv

KEY = "/bench/instructions/key"
VALUE = b"v" * 256
WARMUP = 100  # calls before counting starts (both runs of a case make them)
SYNC_CASES = ("raw_get", "get", "raw_put", "put")
AIO_CASES = ("aio_raw_get", "aio_get", "aio_raw_put", "aio_put")
OWN_SYNC_CASES = ("own_floor", "own_get", "own_put")
OWN_AIO_CASES = ("own_aio_floor", "own_aio_get", "own_aio_put")
PEER_SYNC = ("python_etcd3", "etcd_sdk_python")  # the other clients (their venvs' names)
PEER_AIO = ("aetcd", "etcd3aio", "etcd_client_py")
PEER_SYNC_CASES = tuple(f"{client}_{op}" for client in PEER_SYNC for op in ("get", "put"))
PEER_AIO_CASES = tuple(f"{client}_{op}" for client in PEER_AIO for op in ("get", "put"))
PEER_CASES = PEER_SYNC_CASES + PEER_AIO_CASES
CASES = SYNC_CASES + AIO_CASES + OWN_SYNC_CASES + OWN_AIO_CASES + PEER_CASES
_COLLECTED = re.compile(r"Collected : (\d+)")


class _Answer:
    """A unary method that answers at once: ``response``, or an awaitable of it (asyncio)."""

    def __init__(self, response: object, aio: bool) -> None:
        from bench.overhead import _Answered  # the awaitable overhead.py answers with

        self._response = response
        self._aio = aio
        self._answered = _Answered  # imported here, not per call (nor by the peer cases)

    def __call__(self, request: object, timeout: object = None, metadata: object = None) -> Any:
        return self._answered(self._response) if self._aio else self._response


class _AnsweringChannel:
    """A sync channel whose unary methods answer at once (Range and Put)."""

    def unary_unary(self, method: str, *args: object, **kwargs: object) -> _Answer:
        from etcd3py import _pb

        empty = _pb.rpc.RangeResponse() if method.endswith("/Range") else _pb.rpc.PutResponse()
        return _Answer(empty, aio=False)

    def close(self) -> None:
        """Nothing to close."""


class _AnsweringKV:
    """An asyncio KV stub whose Range and Put answer at once."""

    def __init__(self) -> None:
        from etcd3py import _pb

        self.Range = _Answer(_pb.rpc.RangeResponse(), aio=True)
        self.Put = _Answer(_pb.rpc.PutResponse(), aio=True)


def _own_sync_call(case: str, endpoint: str, stack: ExitStack) -> Callable[[], object]:
    from etcd3py import Client, _pb
    from etcd3py._channel import _Generation

    if case == "own_floor":
        answer = _Answer(_pb.rpc.RangeResponse(), aio=False)
        request = _pb.rpc.RangeRequest(key=KEY.encode())
        return lambda: answer(request, timeout=10, metadata=())
    client = stack.enter_context(Client(endpoint))
    client._transport.channel._current = _Generation(_AnsweringChannel())  # type: ignore[arg-type]
    if case == "own_get":
        return lambda: client.get(KEY)
    return lambda: client.put(KEY, VALUE)


async def _own_aio_call(
    case: str, endpoint: str, stack: AsyncExitStack
) -> Callable[[], Awaitable[object]]:
    from etcd3py import _pb
    from etcd3py.aio import Client

    kv = _AnsweringKV()
    if case == "own_aio_floor":
        request = _pb.rpc.RangeRequest(key=KEY.encode())

        async def floor() -> object:
            return await kv.Range(request, timeout=10, metadata=())

        return floor
    client = await stack.enter_async_context(Client(endpoint))
    client._transport._channels.current.stubs["kv"] = kv
    if case == "own_aio_get":
        return lambda: client.get(KEY)
    return lambda: client.put(KEY, VALUE)


def _sync_call(case: str, endpoint: str, stack: ExitStack) -> Callable[[], object]:
    import grpc

    from etcd3py import Client, _pb, _stubs

    if case.startswith("raw_"):
        kv = _stubs.rpc_grpc.KVStub(stack.enter_context(grpc.insecure_channel(endpoint)))
        get = _pb.rpc.RangeRequest(key=KEY.encode())
        put = _pb.rpc.PutRequest(key=KEY.encode(), value=VALUE)
        if case == "raw_get":
            return lambda: kv.Range(get, timeout=10).kvs[0].value
        return lambda: kv.Put(put, timeout=10)
    client = stack.enter_context(Client(endpoint))
    if case == "get":
        return lambda: client.get(KEY).kvs[0].value
    return lambda: client.put(KEY, VALUE)


async def _aio_call(
    case: str, endpoint: str, stack: AsyncExitStack
) -> Callable[[], Awaitable[object]]:
    import grpc.aio

    from etcd3py import _pb, _stubs
    from etcd3py.aio import Client

    if case.startswith("aio_raw_"):
        kv = _stubs.rpc_grpc.KVStub(
            await stack.enter_async_context(grpc.aio.insecure_channel(endpoint))
        )
        get = _pb.rpc.RangeRequest(key=KEY.encode())
        put = _pb.rpc.PutRequest(key=KEY.encode(), value=VALUE)

        async def raw_get() -> object:
            return (await kv.Range(get, timeout=10)).kvs[0].value

        async def raw_put() -> object:
            return await kv.Put(put, timeout=10)

        return raw_get if case == "aio_raw_get" else raw_put
    client = await stack.enter_async_context(Client(endpoint))
    if case == "aio_get":

        async def aio_get() -> object:
            return (await client.get(KEY)).kvs[0].value

        return aio_get
    return lambda: client.put(KEY, VALUE)


def _peer_sync_call(case: str, endpoint: str, stack: ExitStack) -> Callable[[], object]:
    from bench import peer_calls

    client, op = case.rsplit("_", 1)
    return peer_calls.sync_call(client, op, endpoint, KEY, VALUE, stack)


async def _peer_aio_call(
    case: str, endpoint: str, stack: AsyncExitStack
) -> Callable[[], Awaitable[object]]:
    from bench import peer_calls

    client, op = case.rsplit("_", 1)
    return await peer_calls.aio_call(client, op, endpoint, KEY, VALUE, stack)


# Which function makes each case's call: sync ones in an ExitStack, asyncio ones in an
# AsyncExitStack (and the running event loop).
_SYNC_MAKERS = (
    dict.fromkeys(SYNC_CASES, _sync_call)
    | dict.fromkeys(OWN_SYNC_CASES, _own_sync_call)
    | dict.fromkeys(PEER_SYNC_CASES, _peer_sync_call)
)
_AIO_MAKERS = (
    dict.fromkeys(AIO_CASES, _aio_call)
    | dict.fromkeys(OWN_AIO_CASES, _own_aio_call)
    | dict.fromkeys(PEER_AIO_CASES, _peer_aio_call)
)


def run_case(case: str, endpoint: str, calls: int) -> None:
    """Make the case's client, warm it up, then make ``calls`` calls (the counted process)."""
    if case in _SYNC_MAKERS:
        with ExitStack() as stack:
            fn = _SYNC_MAKERS[case](case, endpoint, stack)
            for _ in range(WARMUP + calls):
                fn()
        return

    async def main() -> None:
        async with AsyncExitStack() as stack:
            afn = await _AIO_MAKERS[case](case, endpoint, stack)
            for _ in range(WARMUP + calls):
                await afn()

    asyncio.run(main())


def python_of(case: str) -> Path:
    """The interpreter of ``case``'s process: a peer's venv python (built if missing), or ours."""
    if case not in PEER_CASES:
        return Path(sys.executable)
    venv = ensure_venv(case.rsplit("_", 1)[0])
    if venv.python is None:
        raise RuntimeError(f"no venv for {case}: {venv.reason}")
    return venv.python


def child_argv(case: str, endpoint: str, calls: int) -> list[str]:
    """The command of ``case``'s counted process (run with the repo root as its directory)."""
    return [
        str(python_of(case)),
        *("-m", "bench.instructions", "--run", case),
        *("--endpoint", endpoint, "--calls", str(calls)),
    ]


def count(case: str, endpoint: str, calls: int) -> int:
    """The instructions callgrind counts in one process running ``case`` with ``calls``."""
    with tempfile.TemporaryDirectory() as tmp:
        callgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out"]
        argv = callgrind + child_argv(case, endpoint, calls)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, cwd=REPO)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run of {case} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def write_value(endpoint: str) -> None:
    """Write the value every get case reads."""
    from etcd3py import Client

    with Client(endpoint) as client:
        client.put(KEY, VALUE)


def measure(endpoint: str, cases: list[str], calls: int) -> dict[str, float]:
    """Each case's instructions per call: (count with ``calls``) minus (count with none)."""
    figures: dict[str, float] = {}
    for case in cases:
        base = count(case, endpoint, 0)
        figures[case] = (count(case, endpoint, calls) - base) / calls
        print(f"  {case}: {figures[case] / 1000:.1f} k instructions per call", flush=True)
    return figures


def _floor(case: str) -> str:
    if case.startswith("own_"):
        return "own_aio_floor" if case.startswith("own_aio_") else "own_floor"
    prefix = "aio_" if case.startswith("aio_") or case in PEER_AIO_CASES else ""
    return f"{prefix}raw_{case.rsplit('_', 1)[-1]}"


def report(figures: dict[str, float]) -> str:
    """A markdown table: each case's k instructions per call, and over its raw stub."""
    lines = ["| case | k instructions per call | over the raw stub |", "|---|---|---|"]
    for case, per_call in figures.items():
        floor = figures.get(_floor(case))
        over = ""
        if floor is not None and "raw" not in case and "floor" not in case:
            over = f"{(per_call - floor) / 1000:+.1f} k"
            if not case.startswith("own_"):  # a ratio of the whole call, gRPC included
                over += f" ({per_call / floor:.2f}x)"
        lines.append(f"| {case} | {per_call / 1000:.1f} | {over} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the counted cases against a fresh etcd 3.5.1 and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--only", help="comma-separated cases (default: every case)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--run", choices=CASES, help=argparse.SUPPRESS)  # the counted process
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        run_case(args.run, args.endpoint, args.calls)
        return 0
    if shutil.which("valgrind") is None:
        print("bench.instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    cases = args.only.split(",") if args.only else list(CASES)
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)} (known: {', '.join(CASES)})")

    from tests.backends import _etcd35_binary, running_etcd

    with running_etcd(_etcd35_binary()[0], "etcd35", ["--unsafe-no-fsync"]) as backend:
        write_value(backend.endpoints[0])
        figures = measure(backend.endpoints[0], cases, args.calls)
    print(report(figures))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
