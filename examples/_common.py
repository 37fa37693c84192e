"""What every example shares: the ``--endpoint`` option, and the reference server by default.

Each example runs against the pure-Python reference server started in its own process, or
against the etcd named by ``--endpoint`` or ``ETCD3PY_ENDPOINT``. Each writes only under a
fresh key prefix, which it deletes at the end. The programs in ``examples/aio/`` use the
asyncio forms of the same helpers (:func:`aconnect`, :func:`ascratch`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from etcd3py import Client

if TYPE_CHECKING:
    from etcd3py import aio
    from testserver import Server


def parser(doc: str | None) -> argparse.ArgumentParser:
    """Return an argument parser with ``--endpoint``, described by the example's docstring."""
    first = (doc or "").strip().splitlines()[0] if doc else ""
    parse = argparse.ArgumentParser(description=first)
    parse.add_argument(
        "--endpoint",
        default=os.environ.get("ETCD3PY_ENDPOINT"),
        help="host:port of an etcd to use (default: $ETCD3PY_ENDPOINT, else an in-process server)",
    )
    return parse


@contextlib.contextmanager
def target(endpoint: str | None) -> Iterator[tuple[str, Server | None]]:
    """Yield the endpoint to use, starting the reference server when none is given."""
    if endpoint:
        yield endpoint, None
        return
    from testserver import Server

    with Server() as srv:
        yield srv.endpoint, srv


@contextlib.contextmanager
def connect(endpoint: str | None) -> Iterator[tuple[Client, Server | None]]:
    """Yield a client (and the reference server it talks to, when this process started one)."""
    with target(endpoint) as (where, srv), Client(endpoints=[where]) as client:
        yield client, srv


@contextlib.asynccontextmanager
async def aconnect(endpoint: str | None) -> AsyncIterator[tuple[aio.Client, Server | None]]:
    """:func:`connect` for the asyncio examples: yield an :class:`etcd3py.aio.Client`."""
    from etcd3py.aio import Client as AioClient

    with target(endpoint) as (where, srv):
        async with AioClient(endpoints=[where]) as client:
            yield client, srv


def fresh_prefix(name: str) -> str:
    """Return a key prefix no other run uses: ``/etcd3py-examples/<name>/<random>/``."""
    return f"/etcd3py-examples/{name}/{uuid.uuid4().hex[:8]}/"


@contextlib.contextmanager
def scratch(client: Client, name: str) -> Iterator[str]:
    """Yield a fresh key prefix for one run of an example; delete everything under it after."""
    prefix = fresh_prefix(name)
    try:
        yield prefix
    finally:
        client.delete(prefix, prefix=True)


@contextlib.asynccontextmanager
async def ascratch(client: aio.Client, name: str) -> AsyncIterator[str]:
    """:func:`scratch` for the asyncio examples."""
    prefix = fresh_prefix(name)
    try:
        yield prefix
    finally:
        await client.delete(prefix, prefix=True)


def text(raw: bytes) -> str:
    """Decode a key or value for printing."""
    return raw.decode("utf-8", errors="replace")
