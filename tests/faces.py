"""Run the sync suites against the asyncio face: a blocking view of ``etcd3py.aio`` objects.

The e2e, fault and cluster suites are written once, against the sync API. A module that opts
in (``pytestmark = pytest.mark.both_faces``) runs each of its tests twice: with an
:class:`etcd3py.Client`, and with an :class:`AioView` of an :class:`etcd3py.aio.Client` whose
event loop runs in an anyio blocking portal (one loop thread for the session). The view
forwards every attribute: a coroutine's result is awaited in the loop, an async iterator is
iterated, an async context manager entered, and every asyncio object a call returns (a txn
builder, a watch chan, a keep-alive, a namespaced client) is viewed the same way, so the test
drives the asyncio face's own code paths.

It maps protocols only, never behaviour: what the asyncio face answers, raises, and when it
ends an iteration is what the test sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from anyio.from_thread import BlockingPortal

__all__ = ["AioModuleView", "AioView", "FACES", "view"]

#: The faces a ``both_faces`` module runs on.
FACES = ("sync", "aio")


def _is_aio_object(value: object) -> bool:
    return type(value).__module__.startswith(("etcd3py.aio", "etcd3py._aio"))


def view(value: Any, portal: BlockingPortal) -> Any:
    """Return ``value``, or a blocking view of it when it is an asyncio-face object."""
    if _is_aio_object(value):
        return AioView(value, portal)
    return value


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class AioView:
    """A blocking view of one asyncio-face object, driven through ``portal``."""

    def __init__(self, target: Any, portal: BlockingPortal) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_portal", portal)

    @property
    def aio_target(self) -> Any:
        """The asyncio object behind the view."""
        return self._target

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` in the loop; await what it returns if it is awaitable."""

        async def call() -> Any:
            result = fn(*args, **kwargs)
            if hasattr(type(result), "__await__"):
                result = await _awaited(result)
            return result

        return view(self._portal.call(call), self._portal)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr) or isinstance(attr, type):
            return view(attr, self._portal)

        def method(*args: Any, **kwargs: Any) -> Any:
            args = tuple(a.aio_target if isinstance(a, AioView) else a for a in args)
            return self._run(attr, *args, **kwargs)

        method.__name__ = name
        return method

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value.aio_target if isinstance(value, AioView) else value)

    # ---- the sync protocols, over the asyncio ones ---------------------------------------

    def __iter__(self) -> Iterator[Any]:
        return self  # type: ignore[return-value]

    def __next__(self) -> Any:
        target = self._target

        async def step() -> tuple[bool, Any]:
            try:
                return True, await target.__anext__()
            except StopAsyncIteration:
                return False, None

        more, item = self._portal.call(step)
        if not more:
            raise StopIteration
        return view(item, self._portal)

    def __enter__(self) -> Any:
        return self._run(self._target.__aenter__)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        return self._run(self._target.__aexit__, exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"AioView({self._target!r})"


class AioModuleView:
    """A blocking view of an asyncio-face module (``etcd3py.aio.concurrency``): calling one
    of its classes or functions runs it in the loop (arguments that are views are unwrapped,
    a coroutine's result awaited) and views what it returns.
    """

    def __init__(self, module: Any, portal: BlockingPortal) -> None:
        self._module = module
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._module, name)
        if not callable(attr):
            return attr
        portal = self._portal

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(a.aio_target if isinstance(a, AioView) else a for a in args)
            kwargs = {k: v.aio_target if isinstance(v, AioView) else v for k, v in kwargs.items()}

            async def run() -> Any:
                result = attr(*args, **kwargs)
                if hasattr(type(result), "__await__"):  # a coroutine, or a Session to start
                    result = await result
                return result

            return view(portal.call(run), portal)

        call.__name__ = name
        return call
