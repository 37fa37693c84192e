"""Context: cancellation, deadlines, children and metadata."""

from __future__ import annotations

import pytest

from etcd3py import Context
from etcd3py.errors import CanceledError, DeadlineExceededError, InvalidArgumentError


def test_background_is_shared_live_and_not_cancellable() -> None:
    bg = Context.background()
    assert bg is Context.background()
    assert bg.err() is None and not bg.done.is_set()
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
        assert ctx.done.is_set()
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
    assert ctx.done.wait(timeout=5.0)
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
