"""Every unary RPC described once, for both faces: what to send, and what the answer becomes.

A :class:`Call` names the service and method, holds the request (built and checked here,
before anything is sent), says whether the RPC may be repeated after a failure (the retry
class of :mod:`etcd3py._retry`), and turns the response message into its view. A face's
transport runs it: ``transport.run(call, timeout=..., ctx=...)`` blocks in the sync client;
the asyncio face awaits the same description. So a concern's method is one line over a
description, and the request building, validation, retry class and response view of an RPC
live in one place whatever the face.

One module per concern (:mod:`etcd3py._calls.kv`, ...). No I/O and no gRPC here: only the
protobuf messages and the views.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

__all__ = ["Call", "Service"]

_R = TypeVar("_R")

#: The gRPC services of etcd's v3 API, as the transport's stub attributes name them.
Service = Literal["kv", "lease", "cluster", "maintenance", "auth"]


# never changed once made, yet not frozen: one is made per call, and a frozen dataclass's
# __init__ costs several times a plain one's
@dataclass(slots=True)
class Call(Generic[_R]):
    """One unary RPC, ready to run.

    Attributes:
        service: the service whose stub serves it (``"kv"``, ``"lease"``...).
        method: the RPC's name in the service (``"Range"``, ``"LeaseGrant"``...).
        request: the request message.
        wrap: turns the response message into what the caller gets (a view).
        repeatable: whether a failed attempt may be repeated on any ``UNAVAILABLE``
            (a read); otherwise only when it was never sent (see :mod:`etcd3py._retry`).
    """

    service: Service
    method: str
    request: Any
    wrap: Callable[[Any], _R]
    repeatable: bool = False
