"""``etcdctl version``: the version of etcdctl this command line reproduces, and its API."""

from __future__ import annotations

from etcd3py.cli._command import Command, Invocation
from etcd3py.cli._usage import API_VERSION, VERSION


def _run(inv: Invocation) -> None:
    inv.console.out(f"etcdctl version: {VERSION}\nAPI version: {API_VERSION}\n")


def commands() -> list[Command]:
    """``version``."""
    return [Command("version", "Prints the version of etcdctl", run=_run)]
