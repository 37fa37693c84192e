"""The other Python etcd clients' get and put, for ``bench.instructions``' peer cases.

Imported only by a peer case's counted process, which runs in that client's venv
(``bench/.venvs/<client>``): it imports the standard library and, when called, that one
client, never etcd3py or anything else of this repo. Each client is made and called through
its public API as its worker (``bench/workers/<client>_worker.py``) does; a get reads the
value. The clients are imported by name: they are not in the project's venv.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack

__all__ = ["aio_call", "sync_call"]

AioCall = Callable[[], Awaitable[object]]


def _host_port(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host, int(port)


def sync_call(
    client: str, op: str, endpoint: str, key: str, value: bytes, stack: ExitStack
) -> Callable[[], object]:
    """One ``get`` (its value) or ``put`` of python-etcd3 (``etcd3``) or its fork ``pyetcd``.

    Args:
        client: ``python_etcd3`` or ``etcd_sdk_python``.
        op: ``get`` or ``put``.
        endpoint: ``host:port`` of the etcd server.
        key: the key read or written.
        value: the value a put writes.
        stack: closes the client.
    """
    module = importlib.import_module("etcd3" if client == "python_etcd3" else "pyetcd")
    host, port = _host_port(endpoint)
    etcd = stack.enter_context(module.client(host=host, port=port))
    if op == "get":
        return lambda: etcd.get(key)[0]  # (value, KVMetadata)
    return lambda: etcd.put(key, value)


async def aio_call(
    client: str, op: str, endpoint: str, key: str, value: bytes, stack: AsyncExitStack
) -> AioCall:
    """One ``get`` (its value) or ``put`` of aetcd, etcd3aio or etcd-client-py, awaitable.

    Args:
        client: ``aetcd``, ``etcd3aio`` or ``etcd_client_py``.
        op: ``get`` or ``put``.
        endpoint: ``host:port`` of the etcd server.
        key: the key read or written (passed as bytes, as the workers pass it).
        value: the value a put writes.
        stack: closes the client.
    """
    get, put = await _AIO_CLIENTS[client](endpoint, key.encode(), value, stack)
    return get if op == "get" else put


async def _aetcd(
    endpoint: str, key: bytes, value: bytes, stack: AsyncExitStack
) -> tuple[AioCall, AioCall]:
    host, port = _host_port(endpoint)
    aetcd = importlib.import_module("aetcd")
    etcd = await stack.enter_async_context(aetcd.Client(host=host, port=port))

    async def get() -> object:
        return (await etcd.get(key)).value  # an rtypes.Get

    return get, lambda: etcd.put(key, value)


async def _etcd3aio(
    endpoint: str, key: bytes, value: bytes, stack: AsyncExitStack
) -> tuple[AioCall, AioCall]:
    etcd3aio = importlib.import_module("etcd3aio")
    kv = (await stack.enter_async_context(etcd3aio.Etcd3Client([endpoint]))).kv

    async def get() -> object:
        return (await kv.get(key)).kvs[0].value  # the protobuf RangeResponse

    return get, lambda: kv.put(key, value)


async def _etcd_client_py(
    endpoint: str, key: bytes, value: bytes, stack: AsyncExitStack
) -> tuple[AioCall, AioCall]:
    etcd_client = importlib.import_module("etcd_client")
    etcd = await stack.enter_async_context(etcd_client.Client([f"http://{endpoint}"]).connect())
    return lambda: etcd.get(key), lambda: etcd.put(key, value)  # get: the value's bytes


_AIO_CLIENTS: dict[
    str, Callable[[str, bytes, bytes, AsyncExitStack], Awaitable[tuple[AioCall, AioCall]]]
] = {"aetcd": _aetcd, "etcd3aio": _etcd3aio, "etcd_client_py": _etcd_client_py}
