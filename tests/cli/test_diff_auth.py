"""``auth``, ``user`` and ``role`` against etcdctl 3.5.1, and the global ``--user``/``--password``.

Each scenario runs etcdctl on one server and etcd3py's command line on its twin (see
:mod:`tests.cli.difftest`), on the reference server and on etcd 3.5.1, and every writer of
every command is compared, with the argument and server errors. etcd3py's command line runs
in this process (:class:`Candidate`: ``etcd3py.cli.main`` on byte streams), which keeps the
module fast, except in the steps that feed stdin: those run ``python -m etcd3py``, since only
a real stdin shows speakeasy's ``stty`` complaints. The protobuf writer prints the servers'
ids in binary, which no normalising undoes: both tools run it against the same server.

Users and roles outlive a scenario on the module's servers, so each test uses names of its
own, and a test that enables authentication disables it before it ends (else the next
scenario finds the servers unreadable and restarts them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tests.cli.difftest import (
    WRITERS,
    Check,
    Etcdctl,
    InProcess,
    Ours,
    Pair,
    Result,
    Run,
    Step,
    Tool,
    assert_same,
    step,
)


class Candidate(Tool):
    """etcd3py's command line: :class:`~tests.cli.difftest.InProcess` (fast), but
    ``python -m etcd3py`` for a step that feeds stdin to a prompt (stdin a pipe, as
    speakeasy's ``stty`` needs to complain about; ``stdin=""`` for an empty one)."""

    name = "ours"

    def __init__(self) -> None:
        self.process = Ours()
        self.in_process = InProcess()

    def call(self, argv: Sequence[str], run: Run) -> Result:
        """Run the command line in a process of its own or in this one."""
        prompts = run.stdin is not None and "--interactive=false" not in argv
        return run.of(self.process if prompts else self.in_process, argv)


OURS = Candidate()
# A long dial timeout in every step with credentials: it bounds clientv3's authentication,
# which etcd makes through raft (on a loaded machine etcdctl's 2 s default was seen to run out).
ROOT = "--dial-timeout=20s --user=root:rootpw"


def each_writer(command: str) -> list[Step]:
    """``command -w W`` for every writer W (``{w}`` in ``command`` is replaced by W)."""
    return [step(f"{command.format(w=writer)} -w {writer}") for writer in WRITERS]


def test_argument_errors(diffcheck: Check) -> None:
    diffcheck(
        [
            step(line)
            for line in (
                "auth enable x",
                "auth disable x y",
                "auth status x",
                "user add",
                "user add a b",
                "user add :pw",
                "user add : --interactive=false",
                "user delete",
                "user get a b",
                "user list x",
                "user passwd",
                "user grant-role a",
                "user grant-role a b c",
                "user revoke-role a",
                "role add",
                "role delete a b",
                "role get",
                "role list x",
                "role grant-permission a read",
                "role grant-permission a rw k",
                "role grant-permission a read k --prefix --from-key",
                "role grant-permission a read '' --prefix --from-key",
                "role grant-permission a read k e --prefix --from-key",
                "role grant-permission a read k e --from-key",
                "role revoke-permission a",
                "role revoke-permission a k e --prefix",
                "role revoke-permission a '' --from-key --prefix",
                "user add ua -w xx --new-user-password=p",
                "role add ra -w xx",
                "auth status -w xx",
                "auth enable --command-timeout=1s -w xx",
            )
        ],
        candidate=OURS,
    )


def test_role_commands_and_their_writers(diffcheck: Check) -> None:
    diffcheck(
        [
            step("role add ra"),
            *each_writer("role add ra-{w}"),
            step("role add ra"),  # exists
            step("role add ''"),  # etcd: empty name
            *each_writer("role list"),
            step("role grant-permission ra read k"),
            step("role grant-permission ra WRITE --prefix p"),
            step("role grant-permission ra readwrite --from-key f"),
            step("role grant-permission ra ReadWrite a z"),
            step("role grant-permission ra read ''"),
            step("role grant-permission ra read --prefix ''"),
            step("role grant-permission ra write --from-key ''"),
            step("role grant-permission ra write '' ignored-end"),
            step("role grant-permission", "ra", "read", "--prefix", "\udcff"),
            step("role grant-permission", "ra", "read", "--prefix", "x\udcff\udcff"),
            step("role grant-permission", "ra", "write", "tab\tkey", "\udcfe"),
            step("role grant-permission ra read zz aa"),  # an end below the key
            step("role grant-permission ra read k extra-end more args"),
            *each_writer("role grant-permission ra-{w} read key-{w}"),
            step("role grant-permission nobody read k"),
            *each_writer("role get ra"),
            step("role get ra-fields"),
            step("role get nobody"),
            step("role revoke-permission ra k"),
            step("role revoke-permission ra p --prefix"),
            step("role revoke-permission ra f --from-key"),
            step("role revoke-permission ra a z"),
            step("role revoke-permission ra '' --prefix"),
            step("role revoke-permission ra '' --from-key"),  # already revoked
            step("role revoke-permission ra ''"),
            step("role revoke-permission ra '' ignored-end"),  # the same single key "\0": gone
            step("role revoke-permission ra nokey"),
            step("role revoke-permission nobody k"),
            *each_writer("role revoke-permission ra-{w} key-{w}"),
            step("role get ra"),
            *each_writer("role delete ra-{w}"),
            step("role delete ra"),
            step("role delete ra"),  # gone
            step("role list"),
        ],
        candidate=OURS,
    )


def test_user_commands_and_their_writers(diffcheck: Check) -> None:
    diffcheck(
        [
            step("user add ua:pw"),
            *each_writer("user add ua-{w}:pw"),
            step("user add ua:other"),  # exists
            step("user add ub --new-user-password=x:y"),
            step("user add ub:c --new-user-password=x"),  # the name is taken verbatim
            step("user add uc: "),  # an empty password
            step("user add :uc --no-password"),
            step("user add ud --no-password --new-user-password=ignored"),
            step("user add ue --interactive=false", stdin="  word rest\nmore\n"),
            step("user add uf --interactive=false", stdin="\nword\n"),
            step("user add ug --interactive=false"),
            step("user add uh --interactive=false", stdin="\t\r\n"),
            step("user add '' --new-user-password=x"),  # etcd: empty name
            *each_writer("user list"),
            step("role add r1"),
            step("role add r2"),
            step("role grant-permission r1 readwrite --prefix /app/"),
            step("role grant-permission r2 read k"),
            step("user grant-role ua r1"),
            step("user grant-role ua r2"),
            step("user grant-role ua r1"),  # again: no change
            step("user grant-role ua nobody"),
            step("user grant-role nobody r1"),
            *each_writer("user grant-role ua-{w} r1"),
            *each_writer("user get ua"),
            *each_writer("user get ua --detail"),
            step("user get ub"),
            step("user get ub --detail"),
            step("user get ub --detail -w table"),
            step("user get nobody"),
            step("user get nobody --detail"),
            step("user passwd ua --interactive=false", stdin="newpw\n"),
            *each_writer("user passwd ua-{w} --interactive=false"),
            step("user passwd nobody --interactive=false", stdin="x"),
            step("user revoke-role ua r2"),
            step("user revoke-role ua r2"),  # not granted
            *each_writer("user revoke-role ua-{w} r1"),
            step("user get ua"),
            step("role delete r1"),  # revoked from its users too
            step("user get ua"),
            *each_writer("user delete ua-{w}"),
            step("user delete nobody"),
            *(step(f"user delete {name}") for name in ("ua", "ub:c", "uc", ":uc", "ud", "ue")),
            *(step(f"user delete {name}") for name in ("uf", "ug", "uh")),
            step("role delete r2"),
            step("user list"),
        ],
        candidate=OURS,
    )


def test_password_prompts(diffcheck: Check) -> None:
    """speakeasy's prompts: on stdout, ``stty`` complaints on stderr (stdin is a pipe)."""
    diffcheck(
        [
            step("user add pa", stdin="secret\nsecret\n"),
            step("user add pb", stdin=" sp ace \r\n sp ace\n"),
            step("user add pc", stdin="one\ntwo\n"),
            step("user add pd", stdin="\n"),
            step("user add pe", stdin="no-newline"),  # the second answer is empty
            step("user add pf", stdin=""),  # nothing at all: an empty first answer
            step("user passwd pa", stdin="new\nnew\n"),
            step("user passwd pa", stdin="new\n"),
            step("user add pg -w xx", stdin="a\na\n"),  # prompts come before the -w check
            step("user delete pa"),
            step("user delete pb"),
        ],
        candidate=OURS,
    )


def test_auth_enable_disable_status(diffcheck: Check) -> None:
    diffcheck(
        [
            *each_writer("auth status"),
            step("auth enable"),  # no root user
            step("user add root:rootpw"),
            step("role add root"),
            step("auth enable"),  # root lacks the root role, and the role exists: refused
            step("role delete root"),
            step("auth enable -w json"),  # makes the root role, grants it, tries again
            step("auth status"),  # no credentials
            *each_writer(f"{ROOT} auth status"),
            step(f"{ROOT} auth enable"),  # already enabled
            step(f"{ROOT} user delete root"),
            step(f"{ROOT} user revoke-role root root"),
            step(f"{ROOT} role delete root"),
            step(f"{ROOT} auth disable -w fields"),
            step("auth disable"),  # already disabled
            step("user revoke-role root root"),
            step("auth enable"),  # the role exists again but is not granted: refused
            step("user grant-role root root"),
            step("auth enable --command-timeout=3s"),
            step(f"{ROOT} auth disable"),
            step("user delete root"),
            step("role delete root"),
            step("auth status"),
        ],
        candidate=OURS,
    )


def test_global_credentials(diffcheck: Check) -> None:
    """``--user``/``--password`` with authentication enabled, and without."""
    diffcheck(
        [
            step("user add root:rootpw"),
            step("user add reader:readpw"),
            step("role add reader"),
            step("role grant-permission reader read --prefix k"),
            step("user grant-role reader reader"),
            step("put k v"),
            step("auth enable"),
            step(f"{ROOT} get k"),
            step(f"{ROOT} put k v2"),
            step(f"{ROOT} user list"),
            step("--dial-timeout=20s --user=root:wrong get k"),
            step("--dial-timeout=20s --user=root:wrong user list"),
            step("--dial-timeout=20s --user=nobody:x get k"),
            step("--dial-timeout=20s --user=root --password=rootpw get k"),
            step("--dial-timeout=20s --user=root --password=rootpw role list"),
            # the user is "root:ignored"
            step("--dial-timeout=20s --user=root:ignored --password=rootpw get k"),
            step("--dial-timeout=20s --user=root: get k"),  # an empty password: no authentication
            step("--dial-timeout=20s --password=rootpw get k"),  # no user: no authentication
            step("--dial-timeout=20s --user=root get k", stdin="rootpw\n"),  # the prompt
            step("--dial-timeout=20s --user=root role list", stdin=" rootpw \n"),
            step("--dial-timeout=20s --user=root role list", stdin="wrong\n"),
            # end of input: an empty password
            step("--dial-timeout=20s --user=root role list", stdin=""),
            step("--dial-timeout=20s --user=reader:readpw get k"),
            step("--dial-timeout=20s --user=reader:readpw put k v3"),
            step("--dial-timeout=20s --user=reader:readpw user list"),
            step("get k"),
            step("role list"),
            step(f"{ROOT} auth disable"),
            # authentication is not enabled: ignored
            step("--dial-timeout=20s --user=root:pw user list"),
            step("--dial-timeout=20s --user=root:pw get k"),
            *(step(f"user delete {name}") for name in ("root", "reader")),
            *(step(f"role delete {name}") for name in ("root", "reader")),
        ],
        candidate=OURS,
    )


def test_empty_names(diffcheck: Check) -> None:
    """etcd answers an empty name with "not found" (only add says "empty")."""
    diffcheck(
        [
            step("user get ''"),
            step("user delete ''"),
            step("user passwd '' --interactive=false"),
            step("user grant-role '' r"),
            step("user grant-role u ''"),
            step("user revoke-role '' r"),
            step("role get ''"),
            step("role delete ''"),
            step("role grant-permission '' read k"),
            step("role revoke-permission '' k"),
        ],
        candidate=OURS,
    )


#: Commands whose protobuf output is compared ({t}: a name of the tool's own).
PROTOBUF = (
    "role add shared",  # etcdctl's; ours: already exists
    "role grant-permission shared write --from-key s",
    "role add {t}-r",
    "role grant-permission {t}-r read k",
    "role grant-permission {t}-r readwrite --prefix p",
    "role get {t}-r",
    "role list",
    "user add {t}-u:pw",
    "user grant-role {t}-u shared",
    "user get {t}-u",
    "user get {t}-u --detail",
    "user list",
    "user passwd {t}-u --interactive=false",
    "user revoke-role {t}-u shared",
    "role revoke-permission {t}-r k",
    "user delete {t}-u",
    "role delete {t}-r",
    "role delete shared",  # ours: no longer exists
    "auth status",
)


def test_protobuf_writer(pair: Pair) -> None:
    """``-w protobuf`` writes the response's wire bytes, ids and all, which no normalising
    undoes: so both tools run against the same server, each on names of its own (on each of
    the pair's servers, so that both see the same auth changes)."""
    etcdctl = Etcdctl()
    for side in pair.sides:
        flags = [f"--endpoints={side.info.endpoint}", "-w", "protobuf"]
        for command in PROTOBUF:
            ref = etcdctl.run([*flags, *command.format(t="a").split()])
            ours = OURS.run([*flags, *command.format(t="b").split()])
            if command in ("role add shared", "role delete shared"):
                assert ref.rc == 0 and ours.rc == 1, command  # made or removed by etcdctl
                continue
            shown = ours.stdout.replace(b"User: b-u\n", b"User: a-u\n")  # --detail's line
            assert_same(ref, dataclasses.replace(ours, stdout=shown), command)
