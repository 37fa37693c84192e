"""``lease grant|revoke|timetolive|list|keep-alive`` against etcdctl 3.5.1.

Each scenario runs etcdctl on one server and etcd3py's command line on its twin (see
:mod:`tests.cli.difftest`), on the reference server and on etcd 3.5.1: every writer of every
lease command, the argument errors, the server's refusals (with clientv3's retry warning)
and the protobuf writer's quirks (the header alone; ``marshal unsupported`` for revoke).
Most steps run etcd3py's command line in this process (``fastcheck``); continuous
``keep-alive`` runs ``python -m etcd3py`` beside a revoke made once it has printed (so that
it ends), or a SIGINT (which kills it: no handler is installed).

``lease list`` shows the server's leases in its map order, so the tests that list start
from a server without leases; a remaining TTL is read right after the grant or renewal
(TTLs of 1000 s, so both sides read 999).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence

import etcd3py
from etcd3py.errors import LeaseNotFoundError
from tests.cli.difftest import (
    WRITERS,
    Check,
    Etcdctl,
    InProcess,
    Ours,
    Pair,
    Program,
    Result,
    Run,
    Tool,
    assert_same,
    step,
)

GRANT = r"lease (?P<lease>[0-9a-f]{16}) granted"


def revoke_all(pair: Pair) -> None:
    """Revoke every lease on both servers (``lease list`` then shows only the test's own)."""
    for cli in pair.clients():
        for lease in cli.leases(timeout=10).leases:
            with contextlib.suppress(LeaseNotFoundError):
                cli.revoke(lease, timeout=10)


def test_argument_errors(fastcheck: Check) -> None:
    lines = [
        "lease grant",
        "lease grant 1 2",
        "lease grant x",
        "lease grant 0x10",
        "lease grant 99999999999999999999",
        "lease revoke",
        "lease revoke 1 2",
        "lease revoke zz",
        "lease revoke 0x1",
        "lease revoke 8000000000000000",
        "lease timetolive",
        "lease timetolive zz",
        "lease timetolive zz -w xx",  # the client (and -w) comes before the ID here
        "lease grant x -w xx",  # the TTL before -w
        "lease keep-alive",
        "lease keep-alive 1 2",
        "lease keep-alive zz",
        "lease keep-alive --once zz",
        "lease keep-alive --once=maybe 1",
        "lease timetolive --keys=2 1",
        "lease grant 10 -w xx",
        "lease",
        "lease nope",
        "lease grant --help",
        "lease keep-alive -h",
    ]
    fastcheck([step(line) for line in lines])


def test_grant_every_writer(fastcheck: Check) -> None:
    fastcheck([step(f"lease grant 1000 -w {w}") for w in WRITERS])


def test_grant_refused_and_small_ttls(fastcheck: Check) -> None:
    fastcheck(
        [
            step("lease grant 9999999999", expect_rc=1),  # too large: the retry warning too
            step("lease grant 9999999999 -w json", expect_rc=1),
            step("lease grant 0"),  # raised to the server's minimum
            step("lease grant 1 -w fields"),
            step("lease gr 1000"),  # a prefix of the subcommand
        ],
    )


def test_revoke_every_writer(fastcheck: Check) -> None:
    steps = []
    for writer in (*WRITERS, "protobuf"):  # protobuf: marshal unsupported, in text
        steps += [
            step("lease grant 1000", capture=GRANT),
            step(f"lease revoke {{lease}} -w {writer}"),
            step("lease timetolive {lease}"),  # revoked whatever the writer said
        ]
    fastcheck(steps)


def test_revoke_and_renew_unknown_leases(fastcheck: Check) -> None:
    fastcheck(
        [
            step("lease revoke 1234", expect_rc=1),
            step("lease revoke 1234 -w json", expect_rc=1),
            step("lease keep-alive --once 1234", expect_rc=2),
            step("lease keep-alive --once 1234 -w json", expect_rc=2),
            step("lease keep-alive 1234"),  # the renewal says gone: the channel closes
            step("lease keep-alive 1234 -w json"),
            step("lease keep-alive 1234 -w table"),  # nothing to print, so no refusal
        ],
    )


def test_revoke_deletes_the_attached_keys(fastcheck: Check) -> None:
    fastcheck(
        [
            step("lease grant 1000", capture=GRANT),
            step("put --lease={lease} lk1 v1"),
            step("put --lease={lease} lk2 v2"),
            step("get lk --prefix -w json"),
            step("lease revoke {lease} -w fields"),
            step("get lk --prefix -w json"),
        ],
    )


def test_timetolive_every_writer(fastcheck: Check) -> None:
    steps = [step("lease grant 1000", capture=GRANT), step("put --lease={lease} ttl-key v")]
    for writer in WRITERS:
        steps += [
            step("lease keep-alive --once {lease}"),  # back to 1000 s: both sides read 999
            step(f"lease timetolive {{lease}} --keys -w {writer}"),
            step("lease keep-alive --once {lease}"),
            step(f"lease timetolive {{lease}} -w {writer}"),
        ]
    steps += [
        step("lease grant 1000", capture=r"lease (?P<lease_bare>[0-9a-f]{16}) granted"),
        step("lease timetolive --keys {lease_bare}"),  # no keys: attached keys([])
        step("lease timetolive --keys {lease_bare} -w json"),  # "keys":null
        step("lease revoke {lease}"),
        step("lease revoke {lease_bare}"),
    ]
    fastcheck(steps)


def test_timetolive_of_unknown_leases(fastcheck: Check) -> None:
    fastcheck(
        [step("lease timetolive 1")]
        + [step(f"lease timetolive 7fffffffffffffff --keys -w {w}") for w in WRITERS],
    )


def test_list_every_writer(pair: Pair, fastcheck: Check) -> None:
    revoke_all(pair)
    steps = [step(f"lease list -w {w}") for w in WRITERS]  # no leases: "leases":[]
    steps.append(step("lease grant 1000", capture=GRANT))
    steps += [step(f"lease list -w {w}") for w in WRITERS]
    steps.append(step("lease revoke {lease}"))
    steps.append(step("lease list"))
    fastcheck(steps)


def test_keep_alive_once_every_writer(fastcheck: Check) -> None:
    steps = [step("lease grant 1000", capture=GRANT)]
    steps += [step(f"lease keep-alive --once {{lease}} -w {w}") for w in WRITERS]
    steps.append(step("lease revoke {lease}"))
    fastcheck(steps)


# ---- continuous keep-alive: a tool that revokes the lease, or interrupts, while it runs ----


def _endpoint(argv: Sequence[str]) -> str:
    return next(a.split("=", 1)[1] for a in argv if a.startswith("--endpoints="))


class WhileRunning(Tool):
    """A tool whose ``lease keep-alive ... LEASE`` runs in the background on a lease of 3 s
    it is granted just before (``LEASE`` is replaced by its ID: the two sides run one after
    the other, too slowly for a lease granted in an earlier step). Once the keep-alive has
    printed ``renewals`` renewals (or ``size`` bytes), the lease is revoked (or the process
    gets a SIGINT), then what it did is collected. Any other command runs through ``plain``.

    Args:
        plain: the tool itself (its command and environment are the keep-alive's).
        renewals: how many renewals to wait for (simple, json or fields output).
        interrupt: send SIGINT instead of revoking.
        size: wait for this many stdout bytes instead (protobuf output has no lines).
    """

    def __init__(
        self, plain: Program, renewals: int, *, interrupt: bool = False, size: int = 0
    ) -> None:
        self.plain = plain
        self.name = plain.name
        self.renewals = renewals
        self.interrupt = interrupt
        self.size = size

    def call(self, argv: Sequence[str], run: Run) -> Result:
        """Run; for a keep-alive of ``LEASE``, act once the output is there."""
        if "LEASE" not in argv:
            return run.of(self.plain, argv)
        endpoint = _endpoint(argv)
        with etcd3py.Client([endpoint]) as cli:
            lease = cli.grant(3, timeout=10).id
        argv = [f"{lease:x}" if a == "LEASE" else a for a in argv]
        started = time.monotonic()
        proc = subprocess.Popen(
            [*self.plain.command(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.plain.environment(run.env),
            cwd=run.cwd,
            start_new_session=True,
        )
        assert proc.stdout is not None
        out = b""
        try:
            os.set_blocking(proc.stdout.fileno(), False)
            deadline = started + run.timeout
            while not self._enough(out) and time.monotonic() < deadline and proc.poll() is None:
                with contextlib.suppress(BlockingIOError, TypeError):
                    out += proc.stdout.read() or b""
                time.sleep(0.02)
            if self.interrupt:
                os.kill(proc.pid, signal.SIGINT)  # the process started here, by its id
            else:
                with etcd3py.Client([endpoint]) as cli:
                    cli.revoke(lease, timeout=10)
            os.set_blocking(proc.stdout.fileno(), True)
            rest, err = proc.communicate(timeout=max(deadline - time.monotonic(), 1.0))
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group of the process started here
            proc.communicate(timeout=10)
            raise
        return Result(proc.returncode, out + rest, err, elapsed=time.monotonic() - started)

    def _enough(self, out: bytes) -> bool:
        if self.size:
            return len(out) >= self.size
        return out.count(b"keepalived") + out.count(b'"TTL"') >= self.renewals


def test_keep_alive_until_revoked(diffcheck: Check) -> None:
    # a renewal a second (TTL 3); the revoke shows at the renewal after it: simple prints
    # "expired or revoked" then, the other writers nothing more
    for writer, renewals in (("simple", 2), ("json", 1)):
        diffcheck(
            [step(f"lease keep-alive -w {writer} LEASE", timeout=15)],
            reference=WhileRunning(Etcdctl(), renewals),
            candidate=WhileRunning(Ours(), renewals),
        )


def test_keep_alive_refused_by_the_table_writer(fastcheck: Check) -> None:
    fastcheck(
        [
            step("lease grant 3", capture=GRANT),
            step("lease keep-alive -w table {lease}", timeout=15),  # refused at the first
            step("lease revoke {lease}"),
        ]
    )


def test_keep_alive_interrupted(diffcheck: Check) -> None:
    report = diffcheck(
        [step("lease keep-alive LEASE", timeout=15)],
        reference=WhileRunning(Etcdctl(), 1, interrupt=True),
        candidate=WhileRunning(Ours(), 1, interrupt=True),
    )
    assert report.outcomes[0].results[0].rc == -signal.SIGINT


def test_command_timeout_variable_is_ignored_by_grant(fastcheck: Check) -> None:
    # grant makes its context before the client: ETCDCTL_COMMAND_TIMEOUT is not applied
    fastcheck([step("lease grant 1000", env={"ETCDCTL_COMMAND_TIMEOUT": "1ns"})])


# ---- protobuf: both tools on one server ---------------------------------------------------


def _grant(endpoint: str) -> str:
    with etcd3py.Client([endpoint]) as cli:
        return f"{cli.grant(1000, timeout=10).id:x}"


def test_protobuf_writer(pair: Pair) -> None:
    """``-w protobuf`` writes wire bytes, server ids and all, which no normalising undoes:
    so etcdctl and etcd3py run against the same server, each on a lease of its own (the
    header alone is written: clientv3's lease responses embed it)."""
    etcdctl, ours_in_process = Etcdctl(), InProcess()
    for side in pair.sides[:1]:  # the other side is the same kind of server
        flags = [f"--endpoints={side.info.endpoint}", "-w", "protobuf"]
        leases = (_grant(side.info.endpoint), _grant(side.info.endpoint))
        for command in (
            "lease grant 1000",
            "lease keep-alive --once {lease}",
            "lease timetolive {lease} --keys",
            "lease timetolive 1",
            "lease list",
            "lease keep-alive 1234",
            "lease keep-alive --once 1234",
        ):
            ref = etcdctl.run([*flags, *command.format(lease=leases[0]).split()])
            ours = ours_in_process.run([*flags, *command.format(lease=leases[1]).split()])
            assert_same(ref, ours, command)
        if pair.kind != "etcd35":  # the simple and json runs cover its keep-alive stream
            continue
        argv = [*flags, "lease", "keep-alive", "LEASE"]
        ref = WhileRunning(etcdctl, 0, size=1).run(argv, timeout=15)
        ours = WhileRunning(Ours(), 0, size=1).run(argv, timeout=15)
        assert_same(ref, ours, "lease keep-alive (until revoked)")
