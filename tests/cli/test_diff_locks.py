"""``lock`` and ``elect`` do what etcdctl 3.5.1's do: hold, wait, run, observe, end on a signal.

Each test runs etcdctl against server A and ``python -m etcd3py`` against server B (see
:mod:`tests.cli.streamtest`), for the reference server and for etcd 3.5.1. Holders, waiters,
candidates and observers are started on both sides in the same order; each step waits
(bounded) for both to get somewhere (a printed key, a key written on the server) before the
next, and SIGINT ends them: a holder unlocks or resigns and exits 0, a waiter gives up with
``Error: context canceled``. Lock keys name the session's lease; lease ids are normalised.
"""

from __future__ import annotations

import signal

import etcd3py
from tests.cli.difftest import Pair, step
from tests.cli.streamtest import Lab, lines

_NAMES = ["lk1", "lk2", "lk3", "lk4", "lk5", "lk6", "lk7", "lkw", "lkp", "lks", "el", "elt"]


def test_lock_ends(pair: Pair) -> None:
    """``lock`` runs that end by themselves: refused arguments, exec commands' outcomes."""
    with Lab(pair, _NAMES) as lab:
        lab.run(
            step("lock"),
            step("lock -w xx lk1"),
            step("lock", "lk1", "--", "sh", "-c", 'echo "$ETCD_LOCK_KEY"; exit 3'),
            step("lock", "lk2", "--", "sh", "-c", "kill -9 $$"),
            step("lock", "lk3", "--", "no-such-command-here"),
            step(
                "lock",
                "lk4",
                "--",
                "sh",
                "-c",
                'echo "$ETCD_LOCK_KEY $OTHER"',
                env={"ETCD_LOCK_KEY": "mine", "OTHER": "theirs"},
            ),
            step("lock", "lk5", "echo", "without", "dashes"),
            step("lock", "lk5", "sh", "-c", "echo a flag: cobra parses it"),
            step("lock -w table --ttl=60 lk6"),
        )
        lab.run(step("lock", "lk7", "--", "sh", "-c", 'echo "$ETCD_LOCK_KEY $ETCD_LOCK_REV"'))


def test_lock_waits_in_turn(pair: Pair) -> None:
    """Holders and waiters in turn; a waiter that gives up on SIGINT; every writer."""
    with Lab(pair, _NAMES) as lab:
        holder = lab.start("lock", "-w", "json", "lkw", transform="json-keys")
        holder.wait(lines(1))
        waiter = lab.start("lock", "-w", "fields", "lkw")
        lab.wait_keys("lkw/", 2)
        quitter = lab.start("lock", "lkw")
        lab.wait_keys("lkw/", 3)
        quitter.stop(signal.SIGINT)
        lab.wait_keys("lkw/", 2)
        runner = lab.start("lock", "lkw", "--", "sh", "-c", 'echo "$ETCD_LOCK_KEY $ETCD_LOCK_REV"')
        lab.wait_keys("lkw/", 3)
        holder.stop(signal.SIGINT)
        waiter.wait(lines(12))
        waiter.stop(signal.SIGINT)
        runner.stop(None)
        lab.wait_keys("lkw/", 0)
        proto = lab.start("lock", "-w", "protobuf", "lkp", transform="protobuf-range")
        proto.wait(lambda out, err: b"lkp/" in out)
        proto.stop(signal.SIGINT)


def test_lock_session_lost(pair: Pair) -> None:
    """The session's lease revoked under a held lock: ``Error: session expired``."""
    with Lab(pair, _NAMES) as lab:
        held = lab.start("lock", "--ttl=2", "lks")
        held.wait(lines(2))
        lab.revoke_all()
        held.stop(None)


def test_elect(pair: Pair) -> None:
    """Candidates and observers: leaders, proclamations, a candidate giving up; writers."""
    with Lab(pair, _NAMES) as lab:
        lab.run(
            step("elect"),
            step("elect el a b"),
            step("elect el"),
            step("elect -l el a"),
            step("elect -w xx el"),
            step("elect -w table elt p"),
        )
        watching = lab.start("elect", "-l", "el")
        watching_json = lab.start("elect", "-l", "-w", "json", "el", transform="json-keys")
        lab.wait_connected(watching, watching_json)
        first = lab.start("elect", "el", "p1")
        first.wait(lines(2))
        watching.wait(lines(2))
        watching_json.wait(lines(1))
        lab.each(lambda c: c.put(c.get("el/", prefix=True).kvs[0].key, "p1, again"))
        watching.wait(lines(4))
        watching_json.wait(lines(2))
        second = lab.start("elect", "-w", "fields", "el", "p2")
        lab.wait_keys("el/", 2)
        late = lab.start("elect", "-l", "-w", "fields", "el")
        late.wait(lines(12))
        first.stop(signal.SIGINT)
        second.wait(lines(12))
        late.wait(lines(24))
        watching.wait(lines(6))
        watching_json.wait(lines(3))
        third = lab.start("elect", "el", "p3")
        lab.wait_keys("el/", 2)
        third.stop(signal.SIGINT)
        lab.wait_keys("el/", 1)
        lab.each(lambda c: c.put(c.get("el/", prefix=True).kvs[0].key, "p2, again"))
        late.wait(lines(36))
        watching.wait(lines(8))
        watching_json.wait(lines(4))
        second.stop(signal.SIGINT)
        for twin in (watching, watching_json, late):
            twin.stop(signal.SIGINT)


def test_permission_denied(pair: Pair) -> None:
    """Every command as a user without permissions: retry warnings, exits, watch cancel."""
    with Lab(pair, _NAMES) as lab:

        def enable(c: etcd3py.Client) -> None:
            """Add root and a user without roles, enable authentication."""
            c.user_add("root", "rootpw")
            c.user_grant_role("root", "root")
            c.user_add("bob", "bobpw")
            c.auth_enable()

        lab.each(enable)
        try:
            # etcd authenticates through raft: on a loaded machine the 2 s default dial
            # timeout, which bounds clientv3's authentication, was seen to run out for etcdctl
            bob = ("--user=bob:bobpw", "--dial-timeout=20s")
            lab.run(
                step("lock", *bob, "lk1"),
                step("elect", *bob, "el", "p"),
                step("elect", *bob, "-l", "el"),
                step("watch", *bob, "-w", "json", "el"),
            )
        finally:
            for side in lab.sides:
                with etcd3py.Client([side.info.endpoint], username="root", password="rootpw") as c:
                    c.auth_disable()
                    c.user_delete("bob")
                    c.user_delete("root")
