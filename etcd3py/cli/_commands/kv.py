"""etcdctl's key-value commands: ``get``, ``put``, ``del`` and ``compaction``.

The command definitions and their argument rules are built here once: ``txn`` builds its op
lines from the same :func:`get_command`, :func:`put_command` and :func:`del_command`, with
:func:`get_op`, :func:`put_op` and :func:`del_op` turning a parsed line into the
:class:`~etcd3py.Op` etcdctl would send.

Requests are exactly etcdctl's (clientv3's ``OpGet``/``OpPut``/``OpDelete`` of its options):
the sort is always set, an empty key with ``--prefix`` or ``--from-key`` reads from
``"\\x00"``, ``--rev`` goes out only when positive, ``--consistency=s`` is a serializable
read. The ops are built from those fields directly: etcdctl also sends what
``Op.get``/``Op.put`` refuse before sending (an empty key, a negative limit or lease), and
the server's answer to them is what it prints.
"""

from __future__ import annotations

import time

from etcd3py._keys import ALL_KEYS_START, FROM_KEY_END, prefix_range_end
from etcd3py.cli._command import Command, Invocation, Run
from etcd3py.cli._config import client, seconds
from etcd3py.cli._console import BAD_ARGS, BAD_FEATURE, ERROR, fail
from etcd3py.cli._display import Out
from etcd3py.cli._failures import failed
from etcd3py.cli._flags import Flag
from etcd3py.cli._gofmt import GoNumError, parse_int, quote
from etcd3py.cli._kv_display import show_del, show_get, show_put
from etcd3py.errors import EtcdError
from etcd3py.kv import DeleteResponse, GetResponse, PutResponse
from etcd3py.models import SortOrder, SortTarget
from etcd3py.op import Op, OpType

__all__ = [
    "commands",
    "del_command",
    "del_op",
    "get_command",
    "get_op",
    "put_command",
    "put_op",
]

_BOTH_RANGES = "`--prefix` and `--from-key` cannot be set at the same time, choose one"
_ONE_ARG_WITH_RANGE = (
    "too many arguments, only accept one argument when `--prefix` or `--from-key` is set"
)
_GET_ARGS = "get command needs one argument as key and an optional argument as range_end"
_PUT_ARGS = "put command needs 1 argument and input from stdin or 2 arguments"
_DEL_ARGS = "del command needs one argument as key and an optional argument as range_end"

_ORDERS = {"ASCEND": SortOrder.ASCEND, "DESCEND": SortOrder.DESCEND, "": SortOrder.NONE}
_TARGETS = {
    "CREATE": SortTarget.CREATE,
    "KEY": SortTarget.KEY,
    "MODIFY": SortTarget.MOD,
    "VALUE": SortTarget.VALUE,
    "VERSION": SortTarget.VERSION,
    "": SortTarget.KEY,
}

_PUT_LONG = """
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
"""


# ---- the command definitions (shared with txn's op lines) ---------------------------------


def get_command(run: Run) -> Command:
    """A fresh ``get`` command (its flags hold one parse) that runs ``run``."""
    return Command(
        "get [options] <key> [range_end]",
        "Gets the key or a range of keys",
        run=run,
        flags=[
            Flag("consistency", "string", "l", "Linearizable(l) or Serializable(s)"),
            Flag("order", "string", "", "Order of results; ASCEND or DESCEND (ASCEND by default)"),
            Flag("sort-by", "string", "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION"),
            Flag("limit", "int64", 0, "Maximum number of results"),
            Flag("prefix", "bool", False, "Get keys with matching prefix"),
            Flag(
                "from-key",
                "bool",
                False,
                "Get keys that are greater than or equal to the given key using byte compare",
            ),
            Flag("rev", "int64", 0, "Specify the kv revision"),
            Flag("keys-only", "bool", False, "Get only the keys"),
            Flag("count-only", "bool", False, "Get only the count"),
            Flag(
                "print-value-only",
                "bool",
                False,
                'Only write values when using the "simple" output format',
            ),
        ],
    )


def put_command(run: Run) -> Command:
    """A fresh ``put`` command that runs ``run``."""
    return Command(
        "put [options] <key> <value> (<value> can also be given from stdin)",
        "Puts the given key into the store",
        _PUT_LONG,
        run=run,
        flags=[
            Flag("lease", "string", "0", "lease ID (in hexadecimal) to attach to the key"),
            Flag(
                "prev-kv", "bool", False, "return the previous key-value pair before modification"
            ),
            Flag("ignore-value", "bool", False, "updates the key using its current value"),
            Flag("ignore-lease", "bool", False, "updates the key using its current lease"),
        ],
    )


def del_command(run: Run) -> Command:
    """A fresh ``del`` command that runs ``run``."""
    return Command(
        "del [options] <key> [range_end]",
        "Removes the specified key or range of keys [key, range_end)",
        run=run,
        flags=[
            Flag("prefix", "bool", False, "delete keys with matching prefix"),
            Flag("prev-kv", "bool", False, "return deleted key-value pairs"),
            Flag(
                "from-key",
                "bool",
                False,
                "delete keys that are greater than or equal to the given key using byte compare",
            ),
        ],
    )


# ---- arguments to ops ---------------------------------------------------------------------


def _raw(arg: str) -> bytes:
    """A command-line argument as the bytes Go has for it."""
    return arg.encode("utf-8", "surrogateescape")


def _go_upper(text: str) -> str:
    """Go's ``strings.ToUpper``: each character's one-character upper case, if it has one."""
    return "".join(up if len(up := ch.upper()) == 1 else ch for ch in text)


def _key_range(key: bytes, end: bytes, prefix: bool, from_key: bool) -> tuple[bytes, bytes]:
    """The key and range end etcdctl's ``--prefix``/``--from-key`` give (clientv3's options)."""
    if prefix:
        return (ALL_KEYS_START, FROM_KEY_END) if not key else (key, prefix_range_end(key))
    if from_key:
        return key or ALL_KEYS_START, FROM_KEY_END
    return key, end


def get_op(inv: Invocation) -> Op:
    """The range op of a parsed ``get`` line, after etcdctl's argument checks (getGetOp).

    Raises:
        Exit: an argument error (128), or an unknown consistency, order or sort target (4).
    """
    args = inv.args
    if not args:
        raise fail(BAD_ARGS, _GET_ARGS)
    prefix, from_key = inv.bool("prefix"), inv.bool("from-key")
    if prefix and from_key:
        raise fail(BAD_ARGS, _BOTH_RANGES)
    if inv.bool("keys-only") and inv.bool("count-only"):
        raise fail(
            BAD_ARGS, "`--keys-only` and `--count-only` cannot be set at the same time, choose one"
        )
    consistency = inv.str("consistency")
    if consistency not in ("l", "s"):
        raise fail(BAD_FEATURE, f"unknown consistency flag {quote(consistency)}")
    end = b""
    if len(args) > 1:
        if prefix or from_key:
            raise fail(BAD_ARGS, _ONE_ARG_WITH_RANGE)
        end = _raw(args[1])
    order = _ORDERS.get(_go_upper(inv.str("order")))
    if order is None:
        raise fail(BAD_FEATURE, f"bad sort order {inv.str('order')}")
    target = _TARGETS.get(_go_upper(inv.str("sort-by")))
    if target is None:
        raise fail(BAD_FEATURE, f"bad sort target {inv.str('sort-by')}")
    key, end = _key_range(_raw(args[0]), end, prefix, from_key)
    options: list[tuple[str, object]] = [("limit", inv.int("limit"))]
    if inv.int("rev") > 0:
        options.append(("rev", inv.int("rev")))
    options += [("sort_target", target), ("sort_order", order)]
    for flag, option in (("keys-only", "keys_only"), ("count-only", "count_only")):
        if inv.bool(flag):
            options.append((option, True))
    if consistency == "s":
        options.append(("serializable", True))
    return Op(OpType.GET, key, end, options=tuple(options))


def put_op(inv: Invocation) -> Op:
    """The put op of a parsed ``put`` line (getPutOp); without a value argument, stdin's bytes.

    Raises:
        Exit: an argument error, an empty stdin or a bad ``--lease`` (128).
    """
    args = inv.args
    if not args:
        raise fail(BAD_ARGS, _PUT_ARGS)
    ignore_value = inv.bool("ignore-value")
    if ignore_value and len(args) > 1:
        raise fail(BAD_ARGS, "put command needs only 1 argument when 'ignore-value' is set")
    value = b""
    if not ignore_value:
        if len(args) > 1:
            value = _raw(args[1])
        else:
            try:
                value = inv.console.stdin.read()
            except OSError:
                value = b""
            if not value:
                raise fail(BAD_ARGS, _PUT_ARGS)
    try:
        lease = parse_int(inv.str("lease"), 16)
    except GoNumError as exc:
        raise fail(BAD_ARGS, f"bad lease ID ({exc}), expecting ID in Hex") from None
    options: list[tuple[str, object]] = [("lease", lease)] if lease else []
    for flag, option in (
        ("prev-kv", "prev_kv"),
        ("ignore-value", "ignore_value"),
        ("ignore-lease", "ignore_lease"),
    ):
        if inv.bool(flag):
            options.append((option, True))
    return Op(OpType.PUT, _raw(args[0]), value=value, options=tuple(options))


def del_op(inv: Invocation) -> Op:
    """The delete op of a parsed ``del`` line, after etcdctl's argument checks (getDelOp).

    Raises:
        Exit: an argument error (128).
    """
    args = inv.args
    if not args or len(args) > 2:
        raise fail(BAD_ARGS, _DEL_ARGS)
    prefix, from_key = inv.bool("prefix"), inv.bool("from-key")
    if prefix and from_key:
        raise fail(BAD_ARGS, _BOTH_RANGES)
    end = b""
    if len(args) > 1:
        if prefix or from_key:
            raise fail(BAD_ARGS, _ONE_ARG_WITH_RANGE)
        end = _raw(args[1])
    key, end = _key_range(_raw(args[0]), end, prefix, from_key)
    options = (("prev_kv", True),) if inv.bool("prev-kv") else ()
    return Op(OpType.DELETE, key, end, options=options)


# ---- the commands -------------------------------------------------------------------------


def _send(inv: Invocation, op: Op) -> object:
    """Run ``op`` within the command timeout, whose clock starts before the client is made.

    (etcdctl makes the command's context first, so ``ETCDCTL_COMMAND_TIMEOUT`` does not apply
    and a password prompt eats into the time.)

    Raises:
        Exit: the call failed (exit 1, after clientv3's retry warning).
    """
    deadline = time.monotonic() + seconds(inv.int("command-timeout"))
    etcd = client(inv)
    try:
        return etcd.do(op, timeout=max(deadline - time.monotonic(), 0.0))
    except EtcdError as exc:
        raise failed(inv, exc) from None


def _get(inv: Invocation) -> None:
    """``etcdctl get``."""
    resp = _send(inv, get_op(inv))
    assert isinstance(resp, GetResponse)
    out = Out(inv)
    if inv.bool("count-only") and out.kind != "fields":
        raise fail(BAD_ARGS, "--count-only is only for `--write-out=fields`")
    value_only = inv.bool("print-value-only")
    if value_only and out.kind != "simple":
        raise fail(BAD_ARGS, "print-value-only is only for `--write-out=simple`")
    show_get(out, resp.to_pb(), value_only=value_only)


def _put(inv: Invocation) -> None:
    """``etcdctl put``."""
    resp = _send(inv, put_op(inv))
    assert isinstance(resp, PutResponse)
    show_put(Out(inv), resp.to_pb())


def _del(inv: Invocation) -> None:
    """``etcdctl del``."""
    resp = _send(inv, del_op(inv))
    assert isinstance(resp, DeleteResponse)
    show_del(Out(inv), resp.to_pb())


def _compaction(inv: Invocation) -> None:
    """``etcdctl compaction``: the same line for every writer."""
    if len(inv.args) != 1:
        raise fail(BAD_ARGS, "compaction command needs 1 argument")
    try:
        rev = parse_int(inv.args[0], 10)
    except GoNumError as exc:
        raise fail(ERROR, exc) from None
    etcd = client(inv)
    # compaction makes its context after the client: the environment's timeout applies
    timeout = seconds(inv.int("command-timeout"))
    try:
        etcd.compact(rev, physical=inv.bool("physical"), timeout=timeout)
    except EtcdError as exc:
        raise failed(inv, exc) from None
    inv.console.out(f"compacted revision {rev}\n")


def commands() -> list[Command]:
    """``get``, ``put``, ``del`` and ``compaction``."""
    return [
        get_command(_get),
        put_command(_put),
        del_command(_del),
        Command(
            "compaction [options] <revision>",
            "Compacts the event history in etcd",
            run=_compaction,
            flags=[
                Flag(
                    "physical",
                    "bool",
                    False,
                    "'true' to wait for compaction to physically remove all old revisions",
                )
            ],
        ),
    ]
