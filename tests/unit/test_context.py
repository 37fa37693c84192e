"""Context: cancellation, deadlines, children and metadata."""

from __future__ import annotations

import os

import pytest

from etcd3py import Context
from etcd3py.errors import CanceledError, DeadlineExceededError, InvalidArgumentError
from tests.forked import in_forked_child


def test_background_is_shared_live_and_not_cancellable() -> None:
    bg = Context.background()
    assert bg is Context.background()
    assert bg.err() is None and not bg.done
    assert bg.deadline is None and bg.remaining() is None and bg.metadata == ()
    with pytest.raises(InvalidArgumentError):
        bg.cancel()


def test_cancel_ends_the_context_and_its_children_once() -> None:
    parent = Context.background().with_cancel()
    child = parent.with_cancel()
    grandchild = child.with_metadata(("k", "v"))
    seen: list[str] = []
    child.add_done_callback(lambda: seen.append("child"))
    parent.cancel()
    parent.cancel()
    for ctx in (parent, child, grandchild):
        assert ctx.done
        assert isinstance(ctx.err(), CanceledError)
    assert seen == ["child"]
    late: list[str] = []
    child.add_done_callback(lambda: late.append("late"))
    assert late == ["late"]


def test_cancelling_a_child_leaves_the_parent_live() -> None:
    parent = Context.background().with_cancel()
    child = parent.with_cancel()
    child.cancel()
    assert child.err() is not None
    assert parent.err() is None
    parent.cancel()


def test_timeout_ends_the_context_with_deadline_exceeded() -> None:
    ctx = Context.background().with_timeout(0.05)
    assert ctx.remaining() is not None
    assert ctx.wait(timeout=5.0)
    assert isinstance(ctx.err(), DeadlineExceededError)
    assert ctx.remaining() == 0.0
    # The deadline was first: a later cancel keeps the reason.
    ctx.cancel()
    assert isinstance(ctx.err(), DeadlineExceededError)


def test_children_inherit_the_nearer_deadline_and_metadata() -> None:
    outer = Context.background().with_timeout(30.0).with_require_leader()
    inner = outer.with_timeout(60.0).with_metadata(("x-a", "1"))
    assert inner.deadline == outer.deadline
    assert inner.metadata == (("hasleader", "true"), ("x-a", "1"))
    nearer = outer.with_timeout(10.0)
    assert nearer.deadline is not None and outer.deadline is not None
    assert nearer.deadline < outer.deadline
    outer.cancel()
    assert isinstance(inner.err(), CanceledError)


def test_unregistered_callback_is_not_called() -> None:
    ctx = Context.background().with_cancel()
    seen: list[int] = []
    remove = ctx.add_done_callback(lambda: seen.append(1))
    remove()
    ctx.cancel()
    assert seen == []


def test_with_timeout_checks_its_argument() -> None:
    from etcd3py.errors import ArgumentTypeError

    with pytest.raises(ArgumentTypeError):
        Context.background().with_timeout("5")  # type: ignore[arg-type]


def test_wait_returns_false_while_live_and_done_is_a_bool() -> None:
    ctx = Context.background().with_cancel()
    assert ctx.done is False
    assert ctx.wait(timeout=0.01) is False
    ctx.cancel()
    assert ctx.done is True
    assert ctx.wait(timeout=0.01) is True


def test_a_cancelled_context_leaves_the_deadline_timer_at_once() -> None:
    from etcd3py.context import _TIMER

    # (the timer is the process's: other tests' deadlines may fire meanwhile, never add)
    before = _TIMER.pending()
    contexts = [Context.background().with_timeout(3600.0) for _ in range(100)]
    entries = [ctx._timer_entry for ctx in contexts]
    assert all(
        entry is not None and entry[2] is ctx for entry, ctx in zip(entries, contexts, strict=True)
    )
    assert _TIMER.pending() <= before + 100
    for ctx in contexts:
        ctx.cancel()
    assert all(entry is not None and entry[2] is None for entry in entries)  # forgotten
    assert _TIMER.pending() <= before
    # a parent's cancel drops its children's deadlines too
    parent = Context.background().with_cancel()
    children = [parent.with_timeout(3600.0) for _ in range(10)]
    parent.cancel()
    assert all(child.done and child._timer_entry is None for child in children)
    assert _TIMER.pending() <= before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_deadlines_fire_in_a_forked_child() -> None:
    # Start the timer thread in the parent first: the child inherits it dead.
    warm = Context.background().with_timeout(0.01)
    assert warm.wait(timeout=5.0)
    inherited = Context.background().with_timeout(0.3)

    def child() -> bytes:
        fresh = Context.background().with_timeout(0.1)
        ok = fresh.wait(timeout=5.0) and inherited.wait(timeout=5.0)
        return b"1" if ok and isinstance(fresh.err(), DeadlineExceededError) else b"0"

    assert in_forked_child(child) == b"1"
    assert inherited.wait(timeout=5.0)
