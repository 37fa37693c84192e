"""The command tree: etcdctl's root command and its subcommands in etcdctl's order."""

from __future__ import annotations

from etcd3py.cli._command import Command, help_command
from etcd3py.cli._commands import auth, cluster, kv, lease, locks, maintenance, txn, version, watch
from etcd3py.cli._config import global_flags

__all__ = ["build"]

# etcdctl registers its commands in this order; cobra suggests unknown names in it.
_ORDER = [
    *("get", "put", "del", "txn", "compaction", "alarm", "defrag", "endpoint", "move-leader"),
    *("watch", "version", "lease", "member", "snapshot", "make-mirror", "lock", "elect"),
    *("auth", "user", "role", "check", "help"),
]


def build() -> Command:
    """A fresh command tree (its flags hold one run's values)."""
    commands = [
        *kv.commands(),
        *txn.commands(),
        *watch.commands(),
        *lease.commands(),
        *cluster.commands(),
        *maintenance.commands(),
        *locks.commands(),
        *auth.commands(),
        *version.commands(),
        help_command(),
    ]
    commands.sort(key=lambda c: _ORDER.index(c.name))
    return Command(
        "etcdctl",
        "A simple command line client for etcd3.",
        persistent=global_flags(),
        children=commands,
    )
