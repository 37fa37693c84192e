"""Which tasks a test left running on its loop, gRPC's own cleanup allowed for.

gRPC's status task of a cancelled call (``_AioCall._handle_status_once_received``) ends
when the C core reports the call done, a poller round trip after the cancel; on a loaded
machine that may be a moment after the client's ``close()`` returned. Such tasks get
``GRPC_TASK_GRACE`` seconds to end; every other task must be gone at once.
"""

from __future__ import annotations

import asyncio

GRPC_TASK_GRACE = 5.0  # seconds


def is_grpc_internal(task: asyncio.Task[object]) -> bool:
    """Whether ``task`` is one grpc.aio runs for a call of its own (not one of ours)."""
    name: str = getattr(task.get_coro(), "__qualname__", "")
    return name.startswith("_AioCall.")


async def tasks_left(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    """The tasks started since ``before`` still running (the caller's own task aside)."""
    await asyncio.sleep(0)
    left = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()}
    grpc_own = {t for t in left if is_grpc_internal(t)}
    if grpc_own:
        await asyncio.wait(grpc_own, timeout=GRPC_TASK_GRACE)
    return {t for t in left if not t.done()}
