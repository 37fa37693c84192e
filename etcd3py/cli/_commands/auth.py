"""``etcdctl auth``: enabling, disabling and the status of authentication; ``user``, ``role``.

``auth enable`` gives the ``root`` user the ``root`` role when etcd asks for it, then tries
again, as etcdctl does. The three calls share one command timeout (``--command-timeout``).
"""

from __future__ import annotations

from etcd3py import Context
from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._commands import roles, users
from etcd3py.cli._config import client, seconds
from etcd3py.cli._console import BAD_ARGS, fail
from etcd3py.cli._display import Out, show
from etcd3py.cli._failures import call, failed, warn
from etcd3py.errors import EtcdError, RootRoleNotExistError

__all__ = ["commands"]


def _no_args(inv: Invocation) -> Context:
    """Refuse arguments (128); the command's context, made before the client as etcdctl does."""
    if inv.args:
        raise fail(BAD_ARGS, f"auth {inv.command.name} command does not accept any arguments")
    return Context.background().with_timeout(seconds(inv.int("command-timeout")))


def _enable(inv: Invocation) -> None:
    """auth enable: enable authentication, giving root the root role when etcd asks."""
    ctx = _no_args(inv)
    cli = client(inv)
    while True:
        try:
            cli.auth_enable(ctx=ctx)
            break
        except RootRoleNotExistError as exc:
            warn(inv, exc)  # etcdctl makes the role, grants it, and tries again
            call(inv, cli.role_add, "root", ctx=ctx)
            call(inv, cli.user_grant_role, "root", "root", ctx=ctx)
        except EtcdError as exc:
            raise failed(inv, exc) from None
    inv.console.out("Authentication Enabled\n")


def _disable(inv: Invocation) -> None:
    """auth disable: disable authentication."""
    ctx = _no_args(inv)
    call(inv, client(inv).auth_disable, ctx=ctx)
    inv.console.out("Authentication Disabled\n")


def _status(inv: Invocation) -> None:
    """auth status: whether authentication is enabled, and the auth revision."""
    ctx = _no_args(inv)
    pb = call(inv, client(inv).auth_status, ctx=ctx).to_pb()

    def simple(out: Out) -> None:
        """Two lines: the status and the auth revision."""
        out.line("Authentication Status:", pb.enabled)
        out.line("AuthRevision:", pb.authRevision)

    show(inv, pb, simple)


def commands() -> list[Command]:
    """``auth``, ``user`` and ``role``."""
    auth = Command(
        "auth <enable or disable>",
        "Enable or disable authentication",
        children=[
            Command("enable", "Enables authentication", run=_enable),
            Command("disable", "Disables authentication", run=_disable),
            Command("status", "Returns authentication status", run=_status),
        ],
    )
    return [auth, users.command(), roles.command()]
