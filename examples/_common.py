"""What every example shares: the ``--endpoint`` option, and the reference server by default.

Each example runs against the pure-Python reference server started in its own process, or
against the etcd named by ``--endpoint`` or ``ETCD3PY_ENDPOINT``. Each writes only under a
fresh key prefix, which it deletes at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from etcd3py import Client

if TYPE_CHECKING:
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
def connect(endpoint: str | None) -> Iterator[tuple[Client, Server | None]]:
    """Yield a client (and the reference server it talks to, when this process started one)."""
    if endpoint:
        with Client(endpoints=[endpoint]) as client:
            yield client, None
        return
    from testserver import Server

    with Server() as srv, Client(endpoints=[srv.endpoint]) as client:
        yield client, srv


@contextlib.contextmanager
def scratch(client: Client, name: str) -> Iterator[str]:
    """Yield a fresh key prefix for one run of an example; delete everything under it after."""
    prefix = f"/etcd3py-examples/{name}/{uuid.uuid4().hex[:8]}/"
    try:
        yield prefix
    finally:
        client.delete(prefix, prefix=True)


def text(raw: bytes) -> str:
    """Decode a key or value for printing."""
    return raw.decode("utf-8", errors="replace")
