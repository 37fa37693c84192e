"""The asyncio face's runner of recipe flows (see :mod:`etcd3py.concurrency._flow`).

Does each step a flow yields with the asyncio client, awaiting what the step returns, and
feeds the flow the answer, or throws in the error: a cancelled task throws its
``CancelledError`` into the flow, which withdraws what it must (a waiter's key) and re-raises
it. The sync twin is :mod:`etcd3py.concurrency._drive`. No task of its own.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from etcd3py.concurrency._flow import Done, Emit, Flow, Pump, Step

_R = TypeVar("_R")


async def _do(step: Step, client: Any) -> Any:
    answer = step.start(client)
    return await answer if inspect.isawaitable(answer) else answer


async def drive(pump: Pump[_R]) -> Emit | Done[_R]:
    """Run the flow until it returns, or hands out a value (an :class:`Emit`).

    Once the flow has ended (returned or raised), the chans it left open are closed.

    Args:
        pump: the flow being run.

    Returns:
        The value handed out, or :class:`Done` with the flow's result.

    Raises:
        BaseException: what the flow raised.
    """
    try:
        while not isinstance(step := pump.next_step(), (Emit, Done)):
            try:
                pump.answer(await _do(step, pump.client))
            except BaseException as exc:  # the flow decides; it re-raises what it does not handle
                pump.fail(exc)
        return step
    finally:
        await close_leftovers(pump)


async def close_leftovers(pump: Pump[Any], force: bool = False) -> None:
    """Close the chans the flow left open (see :meth:`Pump.leftovers`)."""
    for leftover in pump.leftovers(force):
        await _do(leftover, pump.client)


async def run(client: Any, flow: Flow[_R]) -> _R:
    """Run ``flow`` to its end on the asyncio ``client`` and return its result.

    Args:
        client: the asyncio client.
        flow: a flow that hands out nothing.

    Returns:
        The flow's result.
    """
    end = await drive(Pump(client, flow))
    assert isinstance(end, Done)
    return end.value
