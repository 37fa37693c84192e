"""Stepping a flow: the one runner core of every generator the faces drive (sans IO).

Two kinds of flows are written once and driven by each face: the multi-RPC calls of
:mod:`etcd3py._flow` (steps of the transport) and the recipes of
:mod:`etcd3py.concurrency._flow` (steps of the client). Both are generators that yield what
they need, receive each answer or have its error thrown in, and return a result;
:class:`FlowRun` is how every driver resumes one. It does no I/O.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Generic, TypeVar, cast

__all__ = ["FlowRun"]

_Y = TypeVar("_Y")
_T = TypeVar("_T")


class FlowRun(Generic[_Y, _T]):
    """Steps a flow that yields ``_Y`` values and returns ``_T``.

    ``step = run.start()``, then, while ``step`` is not ``None``, ``run.answer(x)`` or
    ``run.fail(err)`` with the outcome of ``step``; then :attr:`result` holds the result.
    The flow's own error goes out of these calls; :attr:`ended` tells whether the flow
    has ended (returned or raised).
    """

    def __init__(self, flow: Generator[_Y, Any, _T]) -> None:
        """Drive ``flow``.

        Args:
            flow: the flow, not started.
        """
        self._flow = flow
        self.result: _T | None = None
        self.ended = False

    def start(self) -> _Y | None:
        """Start the flow.

        Returns:
            Its first step, or ``None`` when it ended at once.
        """
        return self.answer(None)

    def answer(self, value: Any) -> _Y | None:
        """Give the last step's answer.

        Args:
            value: the answer.

        Returns:
            The next step, or ``None`` when the flow returned (see :attr:`result`).
        """
        return self._resume(value, None)

    def fail(self, err: BaseException) -> _Y | None:
        """Throw the last step's failure into the flow (it may handle it).

        Args:
            err: the failure.

        Returns:
            The next step, or ``None`` when the flow returned.
        """
        return self._resume(None, err)

    def _resume(self, value: Any, err: BaseException | None) -> _Y | None:
        try:
            return self._flow.send(value) if err is None else self._flow.throw(err)
        except StopIteration as stop:
            self.ended = True
            self.result = cast(_T, stop.value)
            return None
        except BaseException:
            self.ended = True
            raise
