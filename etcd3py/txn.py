"""Transactions: the :class:`Txn` builder (``if_``/``then``/``else_``/``commit``) and its response.

Owns clientv3 ``txn.go``'s rules: ``if_`` before ``then`` before ``else_``, each at most once
(Go panics; here a typed :class:`~etcd3py.errors.InvalidArgumentError`), and the
:class:`TxnResponse` whose ``responses`` are typed (a nested txn gives a ``TxnResponse``).
The builder checks its arguments as they are given and sends nothing until :meth:`Txn.commit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import Self

from etcd3py._responses import TxnResponse, expect
from etcd3py.compare import Cmp
from etcd3py.errors import InvalidArgumentError
from etcd3py.op import Op

if TYPE_CHECKING:
    from etcd3py.context import Context
    from etcd3py.kv import KV

__all__ = ["Txn", "TxnResponse"]


class _TxnBuilder:
    """The builder rules both faces' ``Txn`` share: ``if_``/``then``/``else_`` and :meth:`op`.

    Holds what was given and checks the order (each step at most once, ``if_`` before
    ``then`` before ``else_``); sends nothing. Each face's ``Txn`` adds ``commit``.
    """

    def __init__(self) -> None:
        """Start an empty transaction."""
        self._compares: tuple[Cmp, ...] = ()
        self._then: tuple[Op, ...] = ()
        self._else: tuple[Op, ...] = ()
        self._called: set[str] = set()

    def _step(self, name: str, not_after: tuple[str, ...]) -> None:
        if name in self._called:
            raise InvalidArgumentError(f"cannot call {name} twice")
        for later in not_after:
            if later in self._called:
                raise InvalidArgumentError(f"cannot call {name} after {later}")
        self._called.add(name)

    def if_(self, *compares: Cmp) -> Self:
        """Set the conditions; the txn succeeds when every one holds (none: always).

        Args:
            *compares: built with :class:`~etcd3py.Compare`.

        Returns:
            This builder.

        Raises:
            InvalidArgumentError: called twice, or after ``then``/``else_``.
            ArgumentTypeError: an argument is not a compare (``Compare.version(k) > 0``...).
        """
        self._compares = Op.txn(compares, ()).compares
        self._step("if_", ("then", "else_"))
        return self

    def then(self, *ops: Op) -> Self:
        """Set the ops run when the conditions hold.

        Args:
            *ops: ``Op.get``/``put``/``delete``/``txn`` ops.

        Returns:
            This builder.

        Raises:
            InvalidArgumentError: called twice, or after ``else_``.
            ArgumentTypeError: an argument is not an ``Op``.
        """
        self._then = Op.txn((), ops).then
        self._step("then", ("else_",))
        return self

    def else_(self, *ops: Op) -> Self:
        """Set the ops run when a condition fails.

        Args:
            *ops: ``Op.get``/``put``/``delete``/``txn`` ops.

        Returns:
            This builder.

        Raises:
            InvalidArgumentError: called twice.
            ArgumentTypeError: an argument is not an ``Op``.
        """
        self._else = Op.txn((), (), ops).else_
        self._step("else_", ())
        return self

    def op(self) -> Op:
        """Return the transaction as an :class:`~etcd3py.Op` (to nest it, or ``do`` it).

        Returns:
            The txn op.
        """
        return Op.txn(self._compares, self._then, self._else)


class Txn(_TxnBuilder):
    """A transaction being built; get one from ``client.txn()``.

    Example::

        resp = (
            client.txn()
            .if_(Compare.mod_revision("/cfg") == rev)
            .then(Op.put("/cfg", new))
            .else_(Op.get("/cfg"))
            .commit(ctx=ctx)
        )

    Not thread-safe: build and commit it on one thread.
    """

    def __init__(self, kv: KV) -> None:
        """Start a transaction that commits through ``kv.do``.

        Args:
            kv: the KV that runs it.
        """
        super().__init__()
        self._kv = kv

    def commit(self, *, timeout: float | None = None, ctx: Context | None = None) -> TxnResponse:
        """Send the transaction (the only step that talks to the server).

        Args:
            timeout: seconds for the call.
            ctx: a Context whose deadline, cancellation and metadata apply.

        Returns:
            The response: ``.succeeded`` and the typed ``.responses`` of the branch run.

        Raises:
            TooManyOpsError: more ops than the server's ``--max-txn-ops`` (128 by default).
            DuplicateKeyError: a branch writes the same key twice.
            CanceledError: ``ctx`` was cancelled (in flight, a txn that writes may have been
                applied: read back to know).
            DeadlineExceededError: the timeout or the ctx's deadline passed.
            EtcdError: any other failure, typed.
        """
        return expect(self._kv.do(self.op(), timeout=timeout, ctx=ctx), TxnResponse)
