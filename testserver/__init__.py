"""A pure-Python reference etcd 3.5.1 server (single member) for tests, examples and demos.

    >>> from testserver import Server
    >>> with Server() as srv:          # doctest: +SKIP
    ...     srv.endpoint               # "127.0.0.1:PORT"

It serves the etcd v3 gRPC API on loopback with etcd's responses, revisions, error codes and
messages, and offers fault injection: :meth:`Server.drop_streams`, :meth:`Server.restart`,
:meth:`Server.set_delay`, :meth:`Server.expire_lease`.

Around it, for test suites: :mod:`testserver.bridge` (a loopback TCP bridge that cuts
connections) and :mod:`testserver.etcd_process` (a real etcd member from a binary). The
pytest plugin :mod:`etcd3py.testing` builds its fixtures on the three.
"""

from __future__ import annotations

from testserver.server import Server

__all__ = ["Server"]
