"""Multi-step calls written once, sans IO: flows that yield the steps they need.

A concern whose call takes several RPCs (disarm every alarm, find the leader then move it,
a status then the ``Snapshot`` stream with one token refresh) writes its rule once as a
generator, a *flow*: it yields a step (:class:`Unary`, :class:`Refresh`, :class:`Stream`)
and receives its answer, or has the step's :class:`~etcd3py.errors.EtcdError` thrown into
it (so it may handle it); its return value is the call's result. It does no I/O. Each face
drives it: :func:`drive` here with the blocking :class:`~etcd3py._transport.Transport`,
:func:`etcd3py._aio_flow.drive` awaited with the
:class:`~etcd3py._aio_transport.AioTransport`. Both step it with
:class:`~etcd3py._flow_run.FlowRun` and give every step one deadline (:class:`Plan`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import grpc

from etcd3py._calls import Call, Service
from etcd3py._flow_run import FlowRun
from etcd3py._retry import remaining
from etcd3py._streams import cancel_call
from etcd3py._transport import _STUBS, call_deadline
from etcd3py.errors import CanceledError, EtcdError, from_rpc_error

if TYPE_CHECKING:
    from etcd3py._transport import Transport
    from etcd3py.context import Context

__all__ = ["Flow", "FlowRun", "Plan", "Refresh", "Step", "Stream", "Unary", "drive"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Unary:
    """Run a described unary RPC; the answer is its view.

    Attributes:
        call: the description.
        endpoint: the member to ask over a channel of its own (``None``: the client's).
    """

    call: Call[Any]
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Refresh:
    """Fetch a new auth token; the answer is whether one is now in place.

    Attributes:
        who: the step asking, for the log.
    """

    who: str


@dataclass(frozen=True, slots=True)
class Stream:
    """Run a unary-stream RPC on one member, handing each response to ``take``.

    The answer is ``None`` once the stream ended; its failure is thrown into the flow.

    Attributes:
        endpoint: the member, over a channel of its own.
        service: the service (``"maintenance"``).
        method: the RPC (``"Snapshot"``).
        request: the request message.
        take: called with each response, in order (on the loop in the asyncio face).
    """

    endpoint: str
    service: Service
    method: str
    request: Any
    take: Callable[[Any], None]


Step = Unary | Refresh | Stream
#: A flow: yields steps, receives their answers, returns the call's result.
Flow = Generator[Step, Any, _T]


@dataclass(frozen=True, slots=True)
class Plan(Generic[_T]):
    """A flow and how its deadline is set.

    Attributes:
        flow: the flow.
        bounded: whether the client's ``default_timeout`` bounds it when no ``timeout`` is
            given (``False`` for a stream such as a snapshot: no default bound).
    """

    flow: Flow[_T]
    bounded: bool = True

    def deadline(self, default: float | None, timeout: object, ctx: object) -> float | None:
        """Check ``timeout``/``ctx`` and return the deadline of every step (see ``call_deadline``).

        Args:
            default: the client's ``default_timeout``.
            timeout: the call's ``timeout=``.
            ctx: the call's ``ctx=``.

        Returns:
            The ``time.monotonic()`` deadline, or ``None``.
        """
        return call_deadline(default if self.bounded else None, timeout, ctx)


def drive(
    plan: Plan[_T], transport: Transport, *, timeout: float | None, ctx: Context | None
) -> _T:
    """Run a flow with the blocking transport; every step shares one deadline.

    Args:
        plan: the flow.
        transport: the sync client's transport.
        timeout: the call's ``timeout=`` (for every step together).
        ctx: a context whose deadline, cancellation and metadata apply to every step.

    Returns:
        The flow's result.
    """
    deadline = plan.deadline(transport.config.default_timeout, timeout, ctx)
    run: FlowRun[Step, _T] = FlowRun(plan.flow)
    try:
        step = run.start()
        while step is not None:
            try:
                value = _perform(step, transport, deadline, ctx)
            except EtcdError as exc:
                step = run.fail(exc)
            else:
                step = run.answer(value)
    finally:
        plan.flow.close()
    return cast(_T, run.result)


def _perform(step: Step, transport: Transport, deadline: float | None, ctx: Context | None) -> Any:
    if isinstance(step, Refresh):
        return transport.refresh_token(step.who)
    if isinstance(step, Unary):
        if step.endpoint is None:
            return transport.run(step.call, timeout=remaining(deadline), ctx=ctx)
        return transport.run_at(step.endpoint, step.call, timeout=remaining(deadline), ctx=ctx)
    with transport.endpoint_channel(step.endpoint) as channel:
        method = getattr(_STUBS[step.service](channel), step.method)
        _stream(transport, method, step, deadline, ctx)
    return None


def _stream(
    transport: Transport, method: Any, step: Stream, deadline: float | None, ctx: Context | None
) -> None:
    """Read a unary-stream call to its end; cancelled when the ctx ends, mapped errors."""
    if ctx is not None and (err := ctx.err()) is not None:
        raise err
    call = method(step.request, timeout=remaining(deadline), metadata=transport.metadata(ctx))
    unregister = ctx.add_done_callback(call.cancel) if ctx is not None else None
    try:
        for response in call:
            step.take(response)
    except grpc.RpcError as exc:
        if ctx is not None and exc.code() == grpc.StatusCode.CANCELLED:
            raise ctx.err() or CanceledError(f"etcd3py: the {step.method} was cancelled") from None
        raise from_rpc_error(exc) from exc
    finally:
        if unregister is not None:
            unregister()
        cancel_call(call)
