"""The steps a recipe takes, and the :class:`Pump` that feeds a recipe's flow its answers.

Each recipe's multi-step logic (Session, Mutex, Election, STM) is written once, as a *flow*:
a generator that yields :class:`Step` values (a call to make, a watch to open, read or
close, the user's function to run) or an :class:`Emit` (a value to hand to the caller), and
receives each step's answer, or has the step's error thrown in, so that its
``try``/``except``/``finally`` see the failures of the calls as a plain function would.
A flow does no I/O and knows no face.

Each face runs the steps its own way: the sync runner
(:mod:`etcd3py.concurrency._drive`) calls the blocking client, the asyncio one
(:mod:`etcd3py.aio.concurrency._drive`) awaits the asyncio client. Each step knows which
part of the client's public API it needs (``client.kv.do``, ``grant``, ``revoke``,
``watch``, a chan's next response or ``close``); both clients name them alike, so one
:meth:`Step.start` serves both faces and a runner only awaits what is awaitable. No I/O here.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from etcd3py._flow_run import FlowRun
from etcd3py.context import Context
from etcd3py.op import Op

_R = TypeVar("_R")


class Step(abc.ABC):
    """One thing a flow needs done by its face; :meth:`start` does it on either client."""

    @abc.abstractmethod
    def start(self, client: Any) -> Any:
        """Do the step with ``client``.

        Args:
            client: the sync or the asyncio client.

        Returns:
            The answer (sync face), or an awaitable of it (asyncio face); the runner awaits
            whatever is awaitable.
        """


@dataclass(frozen=True, slots=True)
class Do(Step):
    """Run one op (a get, or a txn) through the client's KV: ``client.kv.do(op)``."""

    op: Op
    timeout: float | None = None
    ctx: Context | None = None

    def start(self, client: Any) -> Any:
        """Send the op; see :meth:`etcd3py.kv.KV.do`."""
        return client.kv.do(self.op, timeout=self.timeout, ctx=self.ctx)


@dataclass(frozen=True, slots=True)
class Settle(Step):
    """Run one write to its answer, whatever happens to the caller meanwhile.

    For a write the flow must know the fate of (a waiter's key, its withdrawal): it is sent
    without the caller's context, bounded by ``timeout`` alone (the session's TTL), and the
    asyncio runner shields it from a cancel of the task, which it throws in at the flow's
    next step instead (or raises once the flow has ended). A flow follows the put of a key
    with a :class:`Checkpoint` inside the ``try`` that withdraws the key, so a caller who
    gives up while the put is in flight leaves no key behind to queue others.
    """

    op: Op
    timeout: float

    def start(self, client: Any) -> Any:
        """Send the op; see :meth:`etcd3py.kv.KV.do`."""
        return client.kv.do(self.op, timeout=self.timeout)


@dataclass(frozen=True, slots=True)
class Checkpoint(Step):
    """Where a caller's end that came during a :class:`Settle` reaches the flow.

    Raises the error of ``ctx`` if it ended (its cancel, its deadline); in the asyncio face a
    cancel of the task is thrown in here by the runner. Otherwise does nothing.
    """

    ctx: Context

    def start(self, client: Any) -> None:
        """Raise the context's error if it ended."""
        err = self.ctx.err()
        if err is not None:
            raise err


@dataclass(frozen=True, slots=True)
class Grant(Step):
    """Grant a lease: ``client.grant(ttl)``."""

    ttl: int
    timeout: float | None = None
    ctx: Context | None = None

    def start(self, client: Any) -> Any:
        """Send the grant; see :meth:`etcd3py.lease.Lease.grant`."""
        return client.grant(self.ttl, timeout=self.timeout, ctx=self.ctx)


@dataclass(frozen=True, slots=True)
class Revoke(Step):
    """Revoke a lease: ``client.revoke(lease)``."""

    lease: int
    timeout: float | None = None
    ctx: Context | None = None

    def start(self, client: Any) -> Any:
        """Send the revoke; see :meth:`etcd3py.lease.Lease.revoke`."""
        return client.revoke(self.lease, timeout=self.timeout, ctx=self.ctx)


@dataclass(frozen=True, slots=True)
class Watch(Step):
    """Open a watch from a fixed revision (no I/O in either face); the answer is its chan."""

    key: bytes
    rev: int
    ctx: Context
    prefix: bool = False

    def start(self, client: Any) -> Any:
        """Open the watch; see :meth:`etcd3py.watch.Watcher.watch`."""
        return client.watch(self.key, prefix=self.prefix, rev=self.rev, ctx=self.ctx)


@dataclass(frozen=True, slots=True)
class Next(Step):
    """Read the next response of a chan :class:`Watch` opened; ``None`` once it ends."""

    chan: Any

    def start(self, client: Any) -> Any:
        """Take the next response: ``next`` of a sync chan, ``anext`` of an asyncio one."""
        if hasattr(self.chan, "__anext__"):
            return anext(self.chan, None)
        return next(self.chan, None)


@dataclass(frozen=True, slots=True)
class Unwatch(Step):
    """Close a chan :class:`Watch` opened (chans a flow leaves open close when it ends)."""

    chan: Any

    def start(self, client: Any) -> Any:
        """Close the chan (a coroutine in the asyncio face)."""
        return self.chan.close()


@dataclass(frozen=True, slots=True)
class Apply(Step):
    """Run the user's function on ``arg`` (the asyncio face awaits what it returns)."""

    fn: Callable[[Any], object]
    arg: Any

    def start(self, client: Any) -> Any:
        """Call the function."""
        return self.fn(self.arg)


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand ``value`` to the caller and pause the flow (an iterator's next item)."""

    value: Any


#: A recipe's logic: yields steps (and values to hand out), gets answers, returns a result.
Flow = Generator[Step | Emit, Any, _R]


@dataclass(slots=True)
class Done(Generic[_R]):
    """The flow returned ``value``."""

    value: _R


class Pump(Generic[_R]):
    """A flow being run by a face: gives its next step, takes the step's answer or error.

    It also keeps the chans the flow's :class:`Watch` steps opened and did not close: the
    runner closes them (:meth:`leftovers`) once the flow ends (returns or raises).
    """

    def __init__(self, client: Any, flow: Flow[_R]) -> None:
        """Start nothing yet: the first :meth:`next_step` runs the flow to its first step.

        Args:
            client: the client the steps run on (sync or asyncio).
            flow: the flow.
        """
        self.client = client
        self._run: FlowRun[Step | Emit, _R] = FlowRun(flow)
        self._step: Step | None = None
        self._answer: Any = None
        self._error: BaseException | None = None
        self._watches: list[Any] = []

    def next_step(self) -> Step | Emit | Done[_R]:
        """Resume the flow with the last answer (or error) and return what it yields next.

        Returns:
            The next step to do, a value it hands out, or :class:`Done` with its result.

        Raises:
            BaseException: whatever the flow raised (it has ended).
        """
        answer, error = self._answer, self._error
        self._answer = self._error = self._step = None
        out = self._run.answer(answer) if error is None else self._run.fail(error)
        if out is None:
            return Done(cast(_R, self._run.result))
        if isinstance(out, Unwatch) and out.chan in self._watches:
            self._watches.remove(out.chan)
        if isinstance(out, Step):
            self._step = out
        return out

    def answer(self, value: object) -> None:
        """Give the answer of the step :meth:`next_step` returned."""
        if isinstance(self._step, Watch):
            self._watches.append(value)
        self._answer = value

    def fail(self, error: BaseException) -> None:
        """Give the error of the step :meth:`next_step` returned (thrown into the flow)."""
        self._error = error

    def leftovers(self, force: bool = False) -> list[Unwatch]:
        """Return the steps that close the chans left open once the flow ended, forgetting them.

        Args:
            force: return them even while the flow runs (its owner closes it).

        Returns:
            The steps; none while the flow runs, unless forced.
        """
        if not (self._run.ended or force):
            return []
        chans, self._watches = self._watches, []
        return [Unwatch(chan) for chan in chans]
