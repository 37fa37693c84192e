"""The asyncio face's runner of recipe flows (see :mod:`etcd3py.concurrency._flow`).

Does each step a flow yields with the asyncio client, awaiting what the step returns, and
feeds the flow the answer, or throws in the error: a cancelled task throws its
``CancelledError`` into the flow, which withdraws what it must (a waiter's key) and re-raises
it. During a :class:`~etcd3py.concurrency._flow.Settle` step (the put of that key) the cancel
waits for the step's answer, so that the flow knows what to withdraw: that step runs in a task
of its own, always awaited to its end. The sync twin is :mod:`etcd3py.concurrency._drive`.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, TypeVar

from etcd3py.concurrency._flow import Done, Emit, Flow, Pump, Settle, Step

_R = TypeVar("_R")


async def _do(step: Step, client: Any) -> Any:
    answer = step.start(client)
    return await answer if inspect.isawaitable(answer) else answer


async def _settle(step: Settle, client: Any) -> tuple[Any, BaseException | None]:
    """Run a :class:`Settle` step to its answer, shielded from a cancel of the task: return
    the answer and the cancel that came meanwhile, if any (raised if the write failed)."""
    call = asyncio.ensure_future(_do(step, client))
    cancel: BaseException | None = None
    while not call.done():
        try:
            await asyncio.shield(call)
        except asyncio.CancelledError as exc:
            if call.cancelled():
                raise
            cancel = exc  # wait for the answer all the same: it says what the server holds
        except Exception:
            pass  # the write's own error: call.result() raises it below
    if call.cancelled():  # not by us: the loop is going away
        raise cancel or asyncio.CancelledError()
    try:
        return call.result(), cancel
    except Exception:
        if cancel is not None:
            raise cancel from None
        raise


async def drive(pump: Pump[_R]) -> Emit | Done[_R]:
    """Run the flow until it returns, or hands out a value (an :class:`Emit`).

    Once the flow has ended (returned or raised), the chans it left open are closed. A cancel
    of the task during a :class:`Settle` step waits for its answer, then is thrown in at the
    flow's next step (a :class:`Checkpoint`), or raised once the flow has ended.

    Args:
        pump: the flow being run.

    Returns:
        The value handed out, or :class:`Done` with the flow's result.

    Raises:
        BaseException: what the flow raised, or the task's cancel.
    """
    cancel: BaseException | None = None
    try:
        while not isinstance(step := pump.next_step(), (Emit, Done)):
            if cancel is not None:
                pump.fail(cancel)
                cancel = None
                continue
            try:
                if isinstance(step, Settle):
                    answer, cancel = await _settle(step, pump.client)
                else:
                    answer = await _do(step, pump.client)
                pump.answer(answer)
            except BaseException as exc:  # the flow decides; it re-raises what it does not handle
                pump.fail(exc)
    except BaseException as exc:
        if cancel is not None and exc is not cancel:
            raise cancel from exc
        raise
    finally:
        await close_leftovers(pump)
    if cancel is not None:
        raise cancel
    return step


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
