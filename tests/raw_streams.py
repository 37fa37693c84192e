"""Raw bidi gRPC streams for tests that talk to a server without the etcd3py client.

:class:`RawStream` feeds requests through a queue and collects responses (or the stream's
error) on a reader thread; :class:`RawWatch` and :class:`RawKeepAlive` add the requests of
the Watch and LeaseKeepAlive services.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc
from typing_extensions import Self

from etcd3py import _pb, _stubs

rpc = _pb.rpc
WAIT = 10.0  # seconds any one expected response may take

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class RawStream(Generic[Req, Resp]):
    """One raw bidi stream opened with ``method(request_iterator)``.

    Args:
        method: the stub's stream method, e.g. ``WatchStub(channel).Watch``.
        name: the reader thread's name.
    """

    def __init__(self, method: Callable[[Iterator[Req]], Any], name: str) -> None:
        self._requests: queue.Queue[Req | None] = queue.Queue()
        self._responses: queue.Queue[Resp | grpc.RpcError] = queue.Queue()
        self.call: Any = method(self._iter())
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def _iter(self) -> Iterator[Req]:
        while True:
            req = self._requests.get()
            if req is None:
                return
            yield req

    def _read(self) -> None:
        try:
            for resp in self.call:
                self._responses.put(resp)
        except grpc.RpcError as exc:
            self._responses.put(exc)

    def send(self, req: Req) -> None:
        """Send any request."""
        self._requests.put(req)

    def next(self, timeout: float = WAIT) -> Resp:
        """Return the next response; raise the stream's error if it ended."""
        item = self._responses.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def close(self) -> None:
        """Cancel the stream and join the reader."""
        self._requests.put(None)
        self.call.cancel()
        self._thread.join(WAIT)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RawWatch(RawStream[Any, Any]):
    """One raw Watch stream.

    Args:
        channel: the channel to open the stream on.
    """

    def __init__(self, channel: grpc.Channel) -> None:
        super().__init__(_stubs.rpc_grpc.WatchStub(channel).Watch, "raw-watch")

    def create(self, key: bytes, range_end: bytes = b"", **kw: Any) -> None:
        """Send a create request."""
        create = rpc.WatchCreateRequest(key=key, range_end=range_end, **kw)
        self.send(rpc.WatchRequest(create_request=create))

    def cancel(self, watch_id: int) -> None:
        """Send a cancel request."""
        self.send(rpc.WatchRequest(cancel_request=rpc.WatchCancelRequest(watch_id=watch_id)))

    def progress(self) -> None:
        """Send a progress request."""
        self.send(rpc.WatchRequest(progress_request=rpc.WatchProgressRequest()))

    def until(self, done: Callable[[Any], bool], limit: int = 100_000) -> list[Any]:
        """Return responses up to and including the first one ``done`` accepts."""
        out = []
        for _ in range(limit):
            resp = self.next()
            out.append(resp)
            if done(resp):
                return out
        raise AssertionError(f"no matching response within {limit}")


class RawKeepAlive(RawStream[Any, Any]):
    """One raw LeaseKeepAlive stream.

    Args:
        channel: the channel to open the stream on.
    """

    def __init__(self, channel: grpc.Channel) -> None:
        super().__init__(_stubs.rpc_grpc.LeaseStub(channel).LeaseKeepAlive, "raw-keepalive")

    def renew(self, lease_id: int) -> Any:
        """Send one keep-alive request and return its answer."""
        self.send(rpc.LeaseKeepAliveRequest(ID=lease_id))
        return self.next()
