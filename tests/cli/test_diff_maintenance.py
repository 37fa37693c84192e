"""``endpoint``, ``alarm``, ``defrag``, ``move-leader`` and ``snapshot save`` against etcdctl 3.5.1.

Each scenario runs etcdctl on one server and etcd3py's command line on its twin (see
:mod:`tests.cli.difftest`), on the reference server and on etcd 3.5.1: every writer of
every command, ``--cluster``, an unreachable endpoint among the good one, raised alarms,
a user without permissions, and the argument errors. Most steps run etcd3py's command line
in this process (``fastcheck``: :class:`~tests.cli.difftest.InProcess`), which keeps the
module fast. Raft indexes, db sizes and hashes are normalised (the twins' histories differ
in them); snapshot files are compared by validity and size only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from etcd3py import _pb, _stubs
from etcd3py.maintenance import verify_snapshot
from tests.cli.difftest import Check, InProcess, Ours, Pair, run_main, step

DEAD = "127.0.0.1:1"  # nothing listens there: connection refused at once


def _alarm(pair: Pair, action: str, member: str, alarm: str) -> None:
    """``ACTIVATE`` or ``DEACTIVATE`` an alarm (``NOSPACE``, ``CORRUPT``) on both servers, of
    their member (``member`` ``self``) or of member ``0``."""
    rpc = _pb.rpc
    for side in pair.sides:
        member_id = side.info.member_id if member == "self" else 0
        with grpc.insecure_channel(side.info.endpoint) as channel:
            request = rpc.AlarmRequest(
                action=rpc.AlarmRequest.AlarmAction.Value(action),
                memberID=member_id,
                alarm=rpc.AlarmType.Value(alarm),
            )
            _stubs.rpc_grpc.MaintenanceStub(channel).Alarm(request, timeout=10)


# ---- endpoint -----------------------------------------------------------------------------


def test_endpoint_health_every_writer(fastcheck: Check) -> None:
    fastcheck(
        [
            step("endpoint health"),
            step("endpoint health -w json"),
            step("endpoint health -w fields"),
            step("endpoint health -w table --cluster"),
            step("endpoint health -w protobuf", expect_rc=4),
            step("endpoint health", env={"ETCDCTL_CLUSTER": "true", "ETCDCTL_FOO": "x"}),
            step("endpoint health --debug -w json"),
        ]
    )


def test_endpoint_health_unhealthy(fastcheck: Check) -> None:
    fastcheck(
        [
            # the good endpoint answers first; the dead one fails at the command timeout
            step(
                f"endpoint health --endpoints={{endpoint}},{DEAD} --command-timeout=300ms",
                expect_rc=1,
            ),
            step(
                f"endpoint health --endpoints={{endpoint}},{DEAD} --command-timeout=300ms -w table"
            ),
        ]
    )


def test_endpoint_status_every_writer(fastcheck: Check) -> None:
    raft = ("raft",)
    fastcheck(
        [
            step("endpoint status", normalize=raft),
            step("endpoint status -w json", normalize=raft),
            step("endpoint status -w fields --cluster", normalize=raft),
            step("endpoint status -w table", normalize=raft),
            step("endpoint status -w protobuf", normalize=raft, expect_rc=4),
            step("endpoint status --cluster", normalize=raft, env={"ETCDCTL_FOO": "x"}),
            step(
                f"endpoint status --endpoints={{endpoint}},{DEAD} --command-timeout=300ms -w table",
                normalize=raft,
                expect_rc=1,
            ),
        ]
    )


def test_endpoint_hashkv_every_writer(fastcheck: Check) -> None:
    hashed = ("hash",)
    fastcheck(
        [
            step("endpoint hashkv", normalize=hashed),
            step("endpoint hashkv -w json --rev 1", normalize=hashed),
            step("endpoint hashkv -w fields --cluster", normalize=hashed),
            step("endpoint hashkv -w table --rev=-1", normalize=hashed),
            step("endpoint hashkv -w protobuf", expect_rc=4),
            # a future revision: reported, the others printed, then the last error
            step("endpoint hashkv --rev 1000 -w json", expect_rc=1),
            step(
                f"endpoint hashkv --endpoints={{endpoint}},{DEAD} --command-timeout=300ms",
                expect_rc=1,
            ),
        ]
    )


def test_endpoint_without_a_server(fastcheck: Check, pair: Pair) -> None:
    if pair.kind != "testserver":
        pytest.skip("no server is asked: one kind is enough")
    fastcheck(
        [
            step("--endpoints= endpoint health -w json", global_flags=False),
            step("--endpoints= endpoint health -w table", global_flags=False),
            step("endpoint health -w xx", expect_rc=4),
            step("endpoint status -w xx", expect_rc=4),
            step(
                f"--endpoints={DEAD} --command-timeout=300ms endpoint status --cluster",
                global_flags=False,
                expect_rc=1,
            ),
        ]
    )


# ---- alarm --------------------------------------------------------------------------------


def test_alarm_none_raised(fastcheck: Check) -> None:
    fastcheck(
        [
            step("alarm list"),
            step("alarm list -w json"),
            step("alarm list x", expect_rc=128),
            step("alarm disarm x y", expect_rc=128),
            step("alarm disarm -w json"),
            step("alarm disarm -w protobuf"),
        ]
    )


@pytest.fixture
def clear_alarms(pair: Pair) -> Iterator[None]:
    """Leave no alarm raised after the test (a NOSPACE alarm refuses every write)."""
    yield
    for member in ("self", "0"):
        for alarm in ("NOSPACE", "CORRUPT"):
            _alarm(pair, "DEACTIVATE", member, alarm)


@pytest.mark.usefixtures("clear_alarms")
def test_alarm_nospace_of_the_member(fastcheck: Check, pair: Pair) -> None:
    _alarm(pair, "ACTIVATE", "self", "NOSPACE")
    fastcheck(
        [
            step("alarm list"),
            step("alarm list -w json"),
            step("alarm list -w fields"),
            step("alarm list -w table", expect_rc=4),
            step("endpoint health", expect_rc=1),
            step("endpoint status", normalize=("raft",)),
            step("alarm disarm -w json"),
            step("alarm list"),
        ]
    )


@pytest.mark.usefixtures("clear_alarms")
def test_alarm_corrupt_of_member_zero(fastcheck: Check, pair: Pair) -> None:
    _alarm(pair, "ACTIVATE", "0", "CORRUPT")
    fastcheck(
        [
            step("alarm list"),
            step("alarm list -w fields"),
            step("endpoint health -w json", expect_rc=1),
            step("alarm disarm"),
        ]
    )


@pytest.mark.usefixtures("clear_alarms")
def test_alarm_disarm_fields_panics(fastcheck: Check, pair: Pair) -> None:
    _alarm(pair, "ACTIVATE", "self", "NOSPACE")
    # the disarm answer has no header: the fields writer dereferences nil
    fastcheck([step("alarm disarm -w fields", expect_rc=2), step("alarm list -w fields")])


# ---- defrag -------------------------------------------------------------------------------


def test_defrag(fastcheck: Check) -> None:
    fastcheck(
        [
            step("defrag"),
            step("defrag -w json --cluster x"),
            step(f"defrag --endpoints={{endpoint}},{DEAD} --command-timeout=300ms", expect_rc=1),
        ]
    )


def test_defrag_data_dir_is_refused(tmp_path: Path) -> None:
    argv = ["--endpoints=127.0.0.1:1", "defrag", f"--data-dir={tmp_path}"]
    result = run_main(argv, environ={})
    assert (result.rc, result.stdout) == (1, b"")
    notice = (
        b"Use `etcdutl defrag` instead. The --data-dir is going to be decomissioned in v3.6.\n\n"
    )
    assert result.stderr.startswith(notice)
    assert b"Error: etcd3py does not defragment a data directory offline" in result.stderr


# ---- move-leader --------------------------------------------------------------------------


def test_move_leader(fastcheck: Check, pair: Pair) -> None:
    steps = [
        # a one-member cluster: the leader hands leadership to itself
        step("move-leader {member_id}"),
        step("move-leader {member_id} -w json"),
        step("move-leader {member_id} -w fields"),
        step("move-leader 5", expect_rc=1),
        # the global flags are read again per endpoint: the warning comes twice
        step("move-leader {member_id}", env={"ETCDCTL_FOO": "x"}),
        step(f"move-leader {{member_id}} --endpoints={{endpoint}},{DEAD}"),
    ]
    if pair.kind == "testserver":  # no server is asked
        steps += [
            step("move-leader", expect_rc=128),
            step("move-leader 1 2", expect_rc=128),
            step("move-leader xyz", expect_rc=128),
            step("move-leader 10000000000000000", expect_rc=128),
        ]
    fastcheck(steps)


def test_move_leader_first_endpoint_dead(fastcheck: Check) -> None:
    fastcheck(
        [
            step(
                f"--endpoints={DEAD},{{endpoint}} --command-timeout=300ms move-leader 5",
                global_flags=False,
                expect_rc=1,
            )
        ]
    )


# ---- snapshot save ------------------------------------------------------------------------


def _snapshot_sizes(pair: Pair, name: str) -> tuple[int, int]:
    a, b = (verify_snapshot(side.workdir / name) for side in pair.sides)
    return a, b


def test_snapshot_save(fastcheck: Check, pair: Pair) -> None:
    raft = ("raft",)
    fastcheck(
        [
            step("snapshot save {workdir}/a.db", normalize=raft),
            step("snapshot save {workdir}/b.db -w json --command-timeout=5s", normalize=raft),
        ]
    )
    # etcd's and the reference server's databases differ: compare the twins' snapshots only
    for name in ("a.db", "b.db"):
        a, b = _snapshot_sizes(pair, name)
        assert a // 2 <= b <= a * 2, (name, a, b)
    assert not list(pair.sides[1].workdir.glob("*.part"))
    # a relative path, from the tool's working directory
    fastcheck([step("snapshot save c.db", normalize=raft)], candidate=Ours())
    assert _snapshot_sizes(pair, "c.db")


def test_snapshot_save_errors(fastcheck: Check, pair: Pair) -> None:
    steps = [
        step("snapshot save /nonexistent-etcd3py/x.db", expect_rc=5),
        step(f"snapshot save {{workdir}}/x.db --endpoints={{endpoint}},{DEAD}", expect_rc=5),
    ]
    if pair.kind == "testserver":  # no server is asked
        steps += [
            step("snapshot save", expect_rc=128),
            step("snapshot save a b", expect_rc=128),
            step("--endpoints= snapshot save x.db", global_flags=False, expect_rc=5),
            step("snapshot save {workdir}/x.db -w xx", expect_rc=4),
        ]
    fastcheck(steps)
    assert not list(pair.sides[1].workdir.glob("x.db*"))


_STACKTRACE = re.compile(r',"stacktrace":"(?:[^"\\]|\\.)*"')


def test_lines_with_a_stack_trace(pair: Pair) -> None:
    if pair.kind != "testserver":
        pytest.skip("no server answers: one kind is enough")
    # zap's error and fatal lines carry a Go stack trace: compared without it
    report = pair.run(
        [
            step(
                f"--endpoints={DEAD} --command-timeout=300ms snapshot save {{workdir}}/u.db",
                global_flags=False,
                expect_rc=5,
            ),
            # move-leader reads the environment again per endpoint: the variable set the
            # first time now shadows its own flag
            step("move-leader 5", env={"ETCDCTL_DIAL_TIMEOUT": "3s"}, expect_rc=1),
        ],
        candidate=InProcess(),
    )
    for outcome in report.outcomes:
        assert outcome.normalized is not None
        ref, ours = ((n.rc, n.stdout, _STACKTRACE.sub("", n.stderr)) for n in outcome.normalized)
        assert ref == ours, outcome.step.describe()
        assert '"stacktrace":' in outcome.normalized[1].stderr


# ---- a user without permissions ------------------------------------------------------------


def test_maintenance_without_permission(fastcheck: Check) -> None:
    # a long dial timeout: it bounds the authentication, which etcd makes through raft
    user, root = "--user=nobody:nopw --dial-timeout=20s", "--user=root:rootpw --dial-timeout=20s"
    fastcheck(
        [
            step("user add root:rootpw"),
            step("user add nobody:nopw"),
            step("auth enable"),
            # the get is refused, which still proves the member healthy
            step(f"endpoint health {user}"),
            step("endpoint health --user=nobody:bad", expect_rc=1),
            step(f"endpoint status {user} -w json", normalize=("raft",)),
            step(f"endpoint hashkv {user}", expect_rc=1),
            step(f"defrag {user}", expect_rc=1),
            step(f"alarm list {user}"),
            step(f"snapshot save {{workdir}}/p.db {user}", expect_rc=5),
            step("snapshot save {workdir}/p.db --user=nobody:bad", expect_rc=5),
            step(f"snapshot save {{workdir}}/r.db {root}", normalize=("raft",)),
            step(f"auth disable {root}"),
            step("user delete nobody"),
            step("user delete root"),
        ]
    )
