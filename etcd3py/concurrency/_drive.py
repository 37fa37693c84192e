"""The sync face's runner of recipe flows (see :mod:`etcd3py.concurrency._flow`).

Does each step a flow yields with the blocking client and feeds the flow the answer, or
throws in the error. The asyncio twin is :mod:`etcd3py.aio.concurrency._drive`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from etcd3py.concurrency._flow import Done, Emit, Flow, Pump

_R = TypeVar("_R")


def drive(pump: Pump[_R]) -> Emit | Done[_R]:
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
                pump.answer(step.start(pump.client))
            except BaseException as exc:  # the flow decides; it re-raises what it does not handle
                pump.fail(exc)
        return step
    finally:
        for leftover in pump.leftovers():
            leftover.start(pump.client)


def run(client: Any, flow: Flow[_R]) -> _R:
    """Run ``flow`` to its end on the sync ``client`` and return its result.

    Args:
        client: the sync client.
        flow: a flow that hands out nothing.

    Returns:
        The flow's result.
    """
    end = drive(Pump(client, flow))
    assert isinstance(end, Done)
    return end.value
