"""The gRPC servicers of the reference server, one module per etcd service."""

from __future__ import annotations

__all__: list[str] = []
