"""The recipes' flows without a server: scripted answers in, the steps they take out.

The flows of :mod:`etcd3py.concurrency` are what both faces run; here a test plays the
client, answering each step (or throwing an error into the flow) and checking the next one:
a waiter whose wait fails for any reason (a cancelled task included) withdraws its own key,
guarded by its create revision, then re-raises; an observation hands out leaders in order;
the pump closes the chans a flow leaves open only once it has ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from etcd3py import Context, _pb
from etcd3py._responses import GetResponse, TxnResponse
from etcd3py._watch_views import WatchResponse
from etcd3py.concurrency._election import ElectionCore, ObserverCore
from etcd3py.concurrency._flow import (
    Checkpoint,
    Do,
    Done,
    Emit,
    Flow,
    Next,
    Pump,
    Settle,
    Unwatch,
    Watch,
)
from etcd3py.concurrency._mutex import MutexCore
from etcd3py.concurrency._stm import (
    REPEATABLE_READS,
    SERIALIZABLE,
    SERIALIZABLE_SNAPSHOT,
    Isolation,
    STMCore,
)
from etcd3py.errors import (
    CanceledError,
    ElectionNotLeaderError,
    FutureRevisionError,
    SessionExpiredError,
)
from etcd3py.models import EventType
from etcd3py.op import OpType

LEASE = 0x1F


class _Session:
    """What the flows read of a session: lease, ttl, ctx, done, err(), client."""

    def __init__(self) -> None:
        self.lease, self.ttl, self.client = LEASE, 7, None
        self.ctx = Context.background().with_cancel()

    @property
    def done(self) -> bool:
        return self.ctx.done

    def err(self) -> BaseException | None:
        return None


def _header(rev: int) -> _pb.rpc.ResponseHeader:
    return _pb.rpc.ResponseHeader(revision=rev)


def _range(rev: int, *kvs: tuple[bytes, int]) -> _pb.rpc.RangeResponse:
    return _pb.rpc.RangeResponse(
        header=_header(rev),
        kvs=[_pb.kv.KeyValue(key=k, create_revision=c, mod_revision=c) for k, c in kvs],
    )


def _txn(rev: int, succeeded: bool, *ops: _pb.rpc.ResponseOp) -> TxnResponse:
    return TxnResponse(_pb.rpc.TxnResponse(header=_header(rev), succeeded=succeeded, responses=ops))


def _op_range(rev: int, *kvs: tuple[bytes, int]) -> _pb.rpc.ResponseOp:
    return _pb.rpc.ResponseOp(response_range=_range(rev, *kvs))


class _Script:
    """Runs a flow, answering its steps from a script of (expected step type, answer)."""

    def __init__(self, flow: Flow[Any]) -> None:
        self.pump: Pump[Any] = Pump(None, flow)
        self.steps: list[Any] = []

    def step(self) -> Any:
        out = self.pump.next_step()
        self.steps.append(out)
        return out

    def answer(self, value: object) -> Any:
        self.pump.answer(value)
        return self.step()

    def throw(self, err: BaseException) -> Any:
        self.pump.fail(err)
        return self.step()


def _put_then_holder() -> TxnResponse:
    """The answer of a waiter's put: its key written at revision 10; the holder's at 5."""
    put = _pb.rpc.ResponseOp(response_put=_pb.rpc.PutResponse(header=_header(10)))
    return _txn(10, True, put, _op_range(10, (b"/lock/holder", 5)))


def _lock_until_watching() -> tuple[_Script, MutexCore, Any]:
    """Run a lock flow up to its watch on the predecessor's key; return the chan too."""
    mutex = MutexCore(_Session(), "/lock")
    run = _Script(mutex._lock(None, None))
    first = run.step()  # the put runs to its answer whatever the caller does (no ctx)
    assert isinstance(first, Settle) and first.op.type is OpType.TXN and first.timeout == 7.0
    # our key was written at revision 10; the holder's key was created at 5
    assert isinstance(run.answer(_put_then_holder()), Checkpoint)
    read = run.answer(None)
    assert isinstance(read, Do)  # the youngest key created before ours
    assert read.op.option("max_create_revision") == 9
    watch = run.answer(GetResponse(_range(10, (b"/lock/holder", 5))))
    assert isinstance(watch, Watch) and (watch.key, watch.rev) == (b"/lock/holder", 10)
    chan = object()
    assert isinstance(run.answer(chan), Next)
    return run, mutex, chan


@pytest.mark.parametrize("err", [asyncio.CancelledError(), KeyboardInterrupt(), OSError("x")])
def test_a_failed_wait_withdraws_the_waiters_own_key(err: BaseException) -> None:
    run, mutex, chan = _lock_until_watching()
    withdraw = run.throw(err)
    # bounded by the TTL, not by the ctx that may have ended the wait, and run to its answer
    assert isinstance(withdraw, Settle) and withdraw.timeout == 7.0
    txn = withdraw.op.to_txn_request()
    assert txn.compare[0].key == b"/lock/%x" % LEASE and txn.compare[0].create_revision == 10
    assert txn.success[0].request_delete_range.key == b"/lock/%x" % LEASE
    assert run.pump.leftovers() == []  # the flow still runs: its chan stays
    with pytest.raises(type(err)):
        run.answer(_txn(11, True))
    assert run.pump.leftovers() == [Unwatch(chan)]  # ended: the runner closes it
    assert mutex.key == b"" and not mutex.locked()


def test_a_wait_ends_when_the_predecessor_goes_and_checks_the_key_still_exists() -> None:
    run, mutex, _chan = _lock_until_watching()
    wresp = _watch_response(EventType.DELETE, b"/lock/holder")
    assert isinstance(run.answer(wresp), Unwatch)
    again = run.answer(None)
    assert isinstance(again, Do) and again.op.type is OpType.GET
    mine = run.answer(GetResponse(_range(12)))  # no older key any more
    assert isinstance(mine, Do) and mine.op.key == b"/lock/%x" % LEASE
    # our key is gone meanwhile (the session's lease lost): no lock
    with pytest.raises(SessionExpiredError):
        run.answer(GetResponse(_range(12)))
    assert not mutex.locked()


def _watch_response(kind: EventType, key: bytes, value: bytes = b"") -> WatchResponse:
    event = _pb.kv.Event(
        type=kind.value, kv=_pb.kv.KeyValue(key=key, value=value, create_revision=5)
    )
    return WatchResponse(_pb.rpc.WatchResponse(header=_header(12), events=[event]))


def test_an_observation_hands_out_the_leader_then_its_proclamations() -> None:
    session = _Session()
    observer = ObserverCore(session, b"/e/", None, None)
    run = _Script(observer._run())
    assert isinstance(run.step(), Do)
    out = run.answer(GetResponse(_range(20, (b"/e/1", 5))))
    assert isinstance(out, Emit) and out.value.key == b"/e/1"
    watch = run.answer(None)
    assert isinstance(watch, Watch) and (watch.key, watch.rev) == (b"/e/1", 21)
    assert isinstance(run.answer("chan"), Next)
    out = run.answer(_watch_response(EventType.PUT, b"/e/1", b"v2"))
    assert isinstance(out, Emit) and out.value.value == b"v2"
    assert isinstance(run.answer(None), Next)
    assert isinstance(run.answer(_watch_response(EventType.DELETE, b"/e/1")), Unwatch)
    assert isinstance(run.answer(None), Do)  # the next leader is read again
    observer._end()
    assert session.ctx.done is False  # closing an observation leaves the session alone


def test_resign_and_proclaim_send_nothing_without_a_key() -> None:
    election = ElectionCore(_Session(), "/e")
    assert isinstance(Pump(None, election._resign(None, None)).next_step(), Done)
    with pytest.raises(ElectionNotLeaderError):
        Pump(None, election._proclaim(b"v", None, None)).next_step()


@pytest.mark.parametrize("isolation", [SERIALIZABLE, SERIALIZABLE_SNAPSHOT])
def test_a_serializable_stm_read_at_a_revision_a_lagging_member_lacks_is_read_again(
    isolation: Isolation,
) -> None:
    stm = STMCore(None, isolation, Context.background())
    first = _Script(stm._get((b"/a",)))
    read = first.step()
    assert isinstance(read, Do) and read.op.to_txn_request().success[0].request_range.revision == 0
    assert first.answer(_txn(40, True, _op_range(40, (b"/a", 7)))) == Done(b"")
    later = _Script(stm._get((b"/b",)))
    pinned = later.step().op.to_txn_request().success[0].request_range
    assert (pinned.revision, pinned.serializable) == (40, True)
    # round robin reached a member still at revision 39: read again, linearizable, at 40
    again = later.throw(FutureRevisionError()).op.to_txn_request().success[0].request_range
    assert (again.key, again.revision, again.serializable) == (b"/b", 40, False)
    assert later.answer(_txn(41, True, _op_range(41, (b"/b", 9)))) == Done(b"")
    assert stm._rset[b"/b"].kvs[0].mod_revision == 9


def test_a_future_revision_is_the_callers_error_when_the_stm_pinned_no_revision() -> None:
    stm = STMCore(None, REPEATABLE_READS, Context.background())
    run = _Script(stm._get((b"/a",)))
    run.step()
    with pytest.raises(FutureRevisionError):
        run.throw(FutureRevisionError())


def test_a_lock_that_ends_during_the_put_of_its_key_withdraws_the_key() -> None:
    mutex = MutexCore(_Session(), "/lock")
    ctx = Context.background().with_cancel()
    run = _Script(mutex._lock(None, ctx))
    assert isinstance(run.step(), Settle)
    ctx.cancel()  # while the put is in flight (a deadline passing is the same): it answers
    checkpoint = run.answer(_put_then_holder())
    assert isinstance(checkpoint, Checkpoint) and checkpoint.ctx.err() is not None
    with pytest.raises(Exception) as raised:
        checkpoint.start(None)  # the step raises the context's error, the runner throws it in
    withdraw = run.throw(raised.value)
    assert isinstance(withdraw, Settle)
    txn = withdraw.op.to_txn_request()
    assert txn.compare[0].key == b"/lock/%x" % LEASE and txn.compare[0].create_revision == 10
    with pytest.raises(type(raised.value)):
        run.answer(_txn(11, True))
    assert mutex.key == b"" and not mutex.locked()


def test_a_campaign_that_ends_during_the_put_of_its_key_resigns() -> None:
    election = ElectionCore(_Session(), "/e")
    ctx = Context.background().with_cancel()
    run = _Script(election._campaign("v", None, ctx))
    put = run.step()
    assert isinstance(put, Settle) and put.timeout == 7.0
    ctx.cancel()
    written = _pb.rpc.ResponseOp(response_put=_pb.rpc.PutResponse(header=_header(12)))
    checkpoint = run.answer(_txn(12, True, written))
    assert isinstance(checkpoint, Checkpoint)
    resign = run.throw(CanceledError())
    assert isinstance(resign, Settle)
    txn = resign.op.to_txn_request()
    assert txn.compare[0].key == b"/e/%x" % LEASE and txn.compare[0].create_revision == 12
    with pytest.raises(CanceledError):
        run.answer(_txn(13, True))
    assert election.key == b""


class _SlowKV:
    """An asyncio client's KV whose answers wait for ``release``; records what it ran."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers, self.ops = answers, []
        self.release = asyncio.Event()

    async def do(self, op: Any, **_: Any) -> Any:
        self.ops.append(op)
        await self.release.wait()
        return self.answers.pop(0)


async def test_a_task_cancelled_during_the_put_of_its_key_withdraws_it_then_ends() -> None:
    from etcd3py.aio.concurrency._drive import drive

    kv = _SlowKV([_put_then_holder(), _txn(11, True)])
    client = type("C", (), {"kv": kv})()
    mutex = MutexCore(_Session(), "/lock")
    task = asyncio.create_task(drive(Pump(client, mutex._lock(None, None))))
    for _ in range(100):  # until the put is in flight
        if kv.ops:
            break
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    assert not task.done()  # the put still runs: its answer says what to withdraw
    kv.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    withdraw = kv.ops[1].to_txn_request()
    assert withdraw.success[0].request_delete_range.key == b"/lock/%x" % LEASE
    assert withdraw.compare[0].create_revision == 10
    assert mutex.key == b"" and not mutex.locked()


def test_a_put_that_fails_after_the_ctx_ended_raises_the_ctx_error() -> None:
    mutex = MutexCore(_Session(), "/lock")
    ctx = Context.background().with_cancel()
    run = _Script(mutex._lock(None, ctx))
    assert isinstance(run.step(), Settle)
    ctx.cancel()  # the caller gave up first; then the put failed: its fate is unknown
    with pytest.raises(CanceledError) as raised:
        run.throw(OSError("connection reset"))
    assert isinstance(raised.value.__context__, OSError) and mutex.key == b""
