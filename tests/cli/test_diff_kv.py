"""``get``, ``put``, ``del`` and ``compaction`` against etcdctl 3.5.1, byte for byte.

Each scenario runs etcdctl on one server and ours on its twin (the reference server and
etcd 3.5.1, see ``conftest.py``): every writer, every option, the server's errors (with
clientv3's retry warning on stderr), the argument errors. The first scenario runs
``python -m etcd3py``; the others call ``etcd3py.cli.main`` in this process
(``fastcheck``, :class:`~tests.cli.difftest.InProcess`): the same code without an
interpreter start per step (half a second), which keeps the module within its time budget.
The protobuf writer's bytes carry each server's ids, so those steps compare the decoded
messages after checking that both sides wrote them canonically
(:class:`~tests.cli.difftest.Decoded`).
"""

from __future__ import annotations

import pytest
from google.protobuf.message import Message

from etcd3py import _pb
from tests.cli.difftest import Check, Pair, decoded, seed, step


def test_put_and_get_as_a_process(diffcheck: Check) -> None:
    diffcheck(
        [
            step("put foo bar -w json"),
            step("put foo qux --prev-kv"),
            step("put", "bin\udcff\x01", 'v\udcfe\n\t"x'),  # bytes, as argv gives them
            step("get --from-key bin --hex"),
            step("get foo -w table"),  # refused after the call
            step("get --prefix foo --count-only"),  # refused after the call
        ]
    )


def test_put_and_get_in_every_writer(fastcheck: Check) -> None:
    fastcheck(
        [
            step("put w quux --prev-kv -w fields"),
            step("put w quuux --prev-kv -w fields"),
            step("put w3 three -w table"),  # refused after the write
            step("put", "wbin\udcff\x01", 'v\udcfe\n\t"x<&>\u2028'),
            step("get w"),
            step("get --prefix w -w fields"),
            step("get --from-key wbin -w json"),
            step("get --from-key wbin -w fields"),
            step("get nothing -w json"),
            step("get nothing -w fields"),
            step("get w --print-value-only -w json"),  # refused after the call
        ]
    )


def test_get_options(pair: Pair, fastcheck: Check) -> None:
    seed(pair, ("o/a", "3"), ("o/b", "1"), ("o/c", "2"), ("o/a", "4"))
    fastcheck(
        [
            step("get --prefix o/ --print-value-only --limit=-1 --rev=-4"),
            step("get --from-key o/b --keys-only --sort-by=value --order=descend"),
            step("get --prefix o/ --count-only -w fields"),
            step("get o/a o/c --consistency=s --sort-by=VERSION -w json"),
            step("get --prefix o/ --sort-by=create --order=Ascend --limit=2 -w fields"),
            step("get --prefix o/ --sort-by=modify --order=DESCEND"),
            step("get o/a --rev=2"),
        ]
    )


def test_delete_compaction_and_server_errors(pair: Pair, fastcheck: Check) -> None:
    seed(pair, ("d/a", "1"), ("d/b", "2"), ("d/c", "3"), ("d/d", "4"), ("e", "5"))
    fastcheck(
        [
            step("del d/a"),
            step("del d/b d/d --prev-kv -w fields"),
            step("del --prefix d/ --prev-kv -w json"),
            step("del --from-key e --prev-kv"),
            step("del --prefix '' -w table"),  # refused after the delete
            step("compaction 3"),
            step("compaction --physical 4 -w json"),
            step("compaction 4"),  # compacted
            step("get e --rev=2"),  # compacted
            step("get e --rev=100000"),  # future
            step("get ''"),
            step("put --lease=1234abcd k v"),
            step("put --ignore-value missing"),
            step("put --ignore-lease --lease=5 k v"),
            # get makes its context before reading the environment; compaction after
            step("get e", env={"ETCDCTL_COMMAND_TIMEOUT": "1ns"}),
            step("compaction 5", env={"ETCDCTL_COMMAND_TIMEOUT": "1ns"}),
        ]
    )


def test_put_from_stdin(fastcheck: Check) -> None:
    fastcheck(
        [
            step("put in", stdin=b"line 1\nline \xff 2\n"),
            step("put --ignore-value in --prev-kv --hex"),
            step("put --lease=0 -- in -v-"),
        ]
    )


@pytest.mark.parametrize(
    ("kind", "steps"),
    [
        (_pb.rpc.RangeResponse, ["get --prefix p/ -w protobuf", "get none -w protobuf"]),
        (_pb.rpc.PutResponse, ["put p/1 uno --prev-kv -w protobuf"]),
        (_pb.rpc.DeleteRangeResponse, ["del --prefix p/ --prev-kv -w protobuf"]),
    ],
    ids=["get", "put", "del"],
)
def test_protobuf_writer(
    pair: Pair, diffcheck: Check, kind: type[Message], steps: list[str]
) -> None:
    seed(pair, ("p/1", "one"), ("p/2", "two"))
    diffcheck([step(s) for s in steps], **decoded(kind))


def test_argument_errors(pair: Pair, fastcheck: Check) -> None:
    if pair.kind != "testserver":
        pytest.skip("argument errors come before any call: one server kind is enough")
    fastcheck(
        [
            step("get"),
            step("get a --prefix --from-key"),
            step("get a --keys-only --count-only"),
            step("get a --consistency=x --prefix b"),
            step("get a b --prefix"),
            step("get a b --from-key --order=x"),
            step("get a --order=x --sort-by=y"),
            step("get a --sort-by=y"),
            step("get a -w xx --order=x"),
            step("put"),
            step("put k v --ignore-value"),
            step("put k"),
            step("put k v --lease=zz"),
            step("put k v --lease=0x10"),
            step("del"),
            step("del a b c"),
            step("del a --prefix --from-key"),
            step("del a b --from-key"),
            step("compaction"),
            step("compaction 1 2"),
            step("compaction abc"),
            step("compaction 99999999999999999999"),
        ],
        check_state=False,
    )
