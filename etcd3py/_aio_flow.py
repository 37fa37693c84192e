"""The asyncio driver of the flows of :mod:`etcd3py._flow` (the rules are there, once).

:func:`drive` awaits each step on the :class:`~etcd3py._aio_transport.AioTransport`: a unary
call with :meth:`~etcd3py._aio_transport.AioTransport.run` or ``run_at``, a token refresh,
a unary-stream call read with ``async for`` (the network never blocks the loop). A
:class:`~etcd3py._flow.Stream` step's ``take`` runs on the loop: for a snapshot that is a
file write of one chunk at a time, and the final flush, ``fsync`` and rename of a path.
Cancelling the task awaiting :func:`drive` cancels the RPC in flight and closes the flow.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc

from etcd3py._flow import Plan, Refresh, Step, Unary
from etcd3py._flow_run import FlowRun
from etcd3py._retry import remaining
from etcd3py._transport import _STUBS
from etcd3py.errors import EtcdError

if TYPE_CHECKING:
    from etcd3py._aio_transport import AioTransport
    from etcd3py.context import Context

__all__ = ["drive"]

_T = TypeVar("_T")


async def drive(
    plan: Plan[_T], transport: AioTransport, *, timeout: float | None, ctx: Context | None
) -> _T:
    """Run a flow, awaited; every step shares one deadline (as :func:`etcd3py._flow.drive`).

    Args:
        plan: the flow.
        transport: the asyncio client's transport.
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
                value = await _perform(step, transport, deadline, ctx)
            except EtcdError as exc:
                step = run.fail(exc)
            else:
                step = run.answer(value)
    finally:
        plan.flow.close()
    return cast(_T, run.result)


async def _perform(
    step: Step, transport: AioTransport, deadline: float | None, ctx: Context | None
) -> Any:
    if isinstance(step, Refresh):
        return await transport.refresh_token(step.who)
    if isinstance(step, Unary):
        if step.endpoint is None:
            return await transport.run(step.call, timeout=remaining(deadline), ctx=ctx)
        return await transport.run_at(
            step.endpoint, step.call, timeout=remaining(deadline), ctx=ctx
        )
    async with transport.endpoint_channel(step.endpoint) as channel:
        method = getattr(_STUBS[step.service](cast(grpc.Channel, channel)), step.method)
        responses = transport.unary_stream(
            method, step.request, timeout=remaining(deadline), ctx=ctx
        )
        async with contextlib.aclosing(responses):
            async for response in responses:
                step.take(response)
    return None
