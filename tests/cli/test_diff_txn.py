"""``txn`` against etcdctl 3.5.1, byte for byte: compares, op lines, writers and every error.

As in ``test_diff_kv.py``, the scenarios that only need ours to print run
``etcd3py.cli.main`` in this process (``fastcheck``, with
:class:`~tests.cli.difftest.InProcess`); those that need a real process (stdin as a pipe
read through etcdctl's 4096-byte buffer, a help text followed by etcdctl's endless wait)
run ``python -m etcd3py``. Input errors, which
come before the commit, run against one server kind only.
"""

from __future__ import annotations

import pytest

from etcd3py import _pb
from tests.cli.difftest import Check, Pair, Step, decoded, seed, step


def txn(stdin: str | bytes, *flags: str, timeout: float = 30.0) -> Step:
    """A ``txn`` step reading ``stdin`` (a str is encoded as UTF-8, never a template)."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return step("txn", *flags, stdin=data, timeout=timeout)


def test_success_and_failure_in_every_writer(pair: Pair, fastcheck: Check) -> None:
    seed(pair, ("t/a", "1"), ("t/b", "2"))
    then = 'get t/a\nput t/c 3 --prev-kv\nput t/a "one\\x01"\ndel t/b --prev-kv\n\n'
    fastcheck(
        [
            txn(f'mod("t/a") > "0"\n\n{then}get t/b\n\n'),
            txn('ver("t/a") = "9"\n\nget t/a\n\nput t/d 4\nget --prefix t/ --hex\n\n'),
            txn(f'val("t/a") = "one\\x01"\n\n{then}\n', "-w", "json"),
            txn(
                'c("t/a") < "1000"\n\nput t/c 33 --prev-kv\ndel t/d\nget t/c\n\n\n', "-w", "fields"
            ),
            txn('value("t/c") != "x"\n\nput t/e 5\n\n\n', "-w", "table"),
            txn("\n\n\n"),
        ]
    )


def test_protobuf_writer(pair: Pair, diffcheck: Check) -> None:
    seed(pair, ("pb/a", "1"))
    diffcheck(
        [
            txn(
                'm("pb/a") > "0"\n\nget pb/a\nput pb/b 2 --prev-kv\ndel pb/a\n\n\n',
                "-w",
                "protobuf",
            )
        ],
        **decoded(_pb.rpc.TxnResponse),
    )


def test_compares_and_op_options(pair: Pair, fastcheck: Check) -> None:
    seed(pair, ("c/a", "x"), ("c/b", "y"), ("c/a", "z"))
    fastcheck(
        [
            txn(
                'version("c/a") = "2"\ncreate("c/b") > "0"\nm(`c/a`) < "100"\n'
                'val("c/\\x61") = `z`\n\n'
                "get --prefix c/ --keys-only --limit=1 --sort-by=KEY --order=DESCEND\n"
                "get --prefix c/ --count-only\nget c/a --rev=2\nget --from-key c/b\n"
                "g c/a c/c --consistency=s\n\n\n"
            ),
            txn(
                "  val(\"c/b\")   !=   \"y\"  \n\n\nput c/n 'abc' 'def'\n"
                "put 'xyz' \"a b\\tc\"\ndel --prefix c/ --prev-kv\np c/z --prev-kv -- -z\n\n"
            ),
            txn("\nd --from-key c/ --prev-kv\n\n\n"),
        ]
    )


def test_server_errors(fastcheck: Check) -> None:
    fastcheck(
        [
            txn("\nput s/a 1\nput s/a 2\n\n\n"),  # duplicate key
            txn('\nput "" v\n\n\n'),  # empty key
            txn("\nput --lease=123abc s/a 1\n\n\n"),  # no such lease
            txn("\nget s/a --rev=100000\n\n\n"),  # future revision
            txn("\nput --ignore-value s/missing\n\n\n"),
        ]
    )


def test_a_real_process(diffcheck: Check) -> None:
    big = b"\nput big\n\n\n" + b"x" * 5000  # the value is what etcdctl's buffer left unread
    diffcheck(
        [
            txn('mod("i/k") = "0"\n\nput i/k v\n\nget i/k\n\n', "-i"),
            txn(big),
            step("get big --print-value-only"),
        ]
    )


def test_help_in_an_op_line_waits_forever(pair: Pair, diffcheck: Check) -> None:
    if pair.kind != "testserver":
        pytest.skip("input errors come before the commit: one server kind is enough")
    diffcheck([txn("\nhelp get\n\n\n", timeout=3)], check_state=False)


COMPARE_ERRORS = [
    "mod",
    'mod("k")>"0"',
    'mod("k") >"0"',
    'mod("k")> "0"',
    'mod(k) > "0"',
    'mod("k") >',
    'mod("k"',
    'mod( "k" ) > "0"',
    'mod("k") > 0',
    'mod("k") > "x"',
    'mod("k") >= "1"',
    'mod("k") >= "x"',
    'xx("k") = "1"',
    'lease("k") = "1"',
    'val("k\\q") = "1"',
    'val("\\400") = "1"',
    "val(`k) = `v`",
    'version("k") = "1" trailing words',
]
OP_ERRORS = [
    "get",
    "foo bar",
    "get --bad k",
    "put --prefix=1 k v",
    "del --wat",
    "help --x",
    "--x --y",
    "--x get k",
    "get -w json k",
    "put k",
    "put --lease=zz k v",
    "put --ignore-value k v",
    "get --order=x k",
    "get --consistency=q k",
    "get --prefix a b",
    "del",
    "del a b c",
    "'x'",
    "put 'abcdef' v",
    'put "a\\qb" v',
    'put "\\xff" \'',
]


def test_input_errors(pair: Pair, fastcheck: Check) -> None:
    if pair.kind != "testserver":
        pytest.skip("input errors come before the commit: one server kind is enough")
    steps = [txn(f"{line}\n\n\n\n") for line in COMPARE_ERRORS]
    steps += [txn(f"\n{line}\n\n\n") for line in OP_ERRORS]
    steps += [
        txn(""),
        txn("\n"),
        txn("\n\n"),
        txn("\n\n\n\n", "-i"),
        txn("\n\nget k\n\nget k"),
        txn("\n\n\n", "extra"),
        txn(b'val("\xff") = "\xfe"\n\n\n\n'),
        txn(b'val("\xff) = "\xfe"\n\n\n\n'),
        txn(b"\xc2\xa0\t\n\n\n"),
    ]
    fastcheck(steps, check_state=False)
