"""``watch`` does what etcdctl 3.5.1's does: events, writers, exec commands, interactive mode.

Each test runs etcdctl against server A and ``python -m etcd3py`` against server B (see
:mod:`tests.cli.streamtest`), for the reference server and for etcd 3.5.1. Watches that end
by themselves (argument errors, a writer without watch output, an exec command that fails at
the last event, a server cancel) run all at once; live ones are started on both sides, fed
the same writes, read until a bounded point and ended by SIGINT (the default action kills
both: return code -2). Watches that show response boundaries (json, fields, protobuf,
``ETCD_WATCH_REVISION``) replay history written before they start (one response), or are
connected before the writes (one response per revision).
"""

from __future__ import annotations

import signal

from etcd3py.op import Op
from tests.cli.difftest import Pair, step
from tests.cli.streamtest import Lab, lines, stderr_lines

# an exec command that shows its event and fails at the one whose value is "end"
_SHOW = (
    'echo "rev=$ETCD_WATCH_REVISION type=$ETCD_WATCH_EVENT_TYPE key=$ETCD_WATCH_KEY '
    'value=$ETCD_WATCH_VALUE"; test "$ETCD_WATCH_VALUE" != \'"end"\''
)


def _history(lab: Lab, prefix: str) -> int:
    """Write a small history under ``prefix``; return the revision it starts at."""
    first = lab.revision() + 1
    lab.put(f"{prefix}a", "1")
    lab.put(f"{prefix}b", "2")
    lab.put(f"{prefix}a", "é\x00\x7f\"'\\")
    lab.delete(f"{prefix}b")
    lab.put(f"{prefix}c", "end")
    return first


def test_watch_argument_errors(pair: Pair) -> None:
    """Refused arguments, env keys, a writer without watch output. (``--debug`` is left out:
    gRPC's own debug lines cannot be compared.)"""
    with Lab(pair) as lab:
        rev = _history(lab, "err/")
        key = {"ETCDCTL_WATCH_KEY": "err/a"}
        lab.run(
            step("watch"),
            step("watch err/a --"),
            step("watch err/a err/b --prefix"),
            step("watch --prefix"),
            step("wat"),
            step("watch", env={"ETCDCTL_WATCH_RANGE_END": "b\n"}),
            step("watch err/a", env=key),
            step("watch err/a -- echo x", env=key),
            step(
                f"watch --rev={rev} -w table",
                env={**key, "ETCDCTL_WATCH_RANGE_END": "err/z", "ETCDCTL_FOO": "x"},
            ),
        )


def test_watch_replayed_history(pair: Pair) -> None:
    """History replayed with --rev through every writer and an exec command that fails at
    the last event; exec quirks; commands that cannot run or are killed; a refused range."""
    with Lab(pair) as lab:
        rev = _history(lab, "h/")
        show = ["--", "sh", "-c", _SHOW]
        # the command writes to stderr: stdout holds the protobuf messages alone
        quiet = ["--", "sh", "-c", f"({_SHOW}) >&2"]
        lab.run(
            step("watch", f"--rev={rev}", "h/c", *show, env={"ETCD_WATCH_KEY": "theirs"}),
            step("watch", f"--rev={rev}", "--prefix", "--prev-kv", "h/", *show),
            step("watch", f"--rev={rev}", "--hex", "--prev-kv", "h/a", "h/d", *show),
            step("watch", f"--rev={rev}", "-w", "json", "--prefix", "--prev-kv", "h/", *show),
            step("watch", f"--rev={rev}", "-w", "fields", "--prefix", "--prev-kv", "h/", *show),
            (
                step("watch", f"--rev={rev}", "-w", "protobuf", "--prefix", "h/", *quiet),
                "protobuf-watch",
            ),
            step("watch", f"--rev={rev}", "", "h/d", *show),
            # the key before "--" and the exec arguments both count: "sh" ends the range
            step("watch", f"--rev={rev}", "h/", "sh", *show),
            # everything from the last word equal to the command's name is dropped
            step("watch", f"--rev={rev}", "h/c", *show, "sh"),
            step(
                "watch",
                f"--rev={rev}",
                *show,
                env={"ETCDCTL_WATCH_KEY": "h/", "ETCDCTL_WATCH_RANGE_END": "h/z"},
            ),
            step("watch", f"--rev={rev}", "h/a", "--", "no-such-command-here"),
            step("watch", f"--rev={rev}", "h/a", "--", "sh", "-c", "kill -9 $$"),
            # an empty range: the server refuses it
            step("watch", f"--rev={rev}", "-w", "json", "h/b", "h/a"),
        )


def test_watch_live(pair: Pair) -> None:
    """Live watches of every writer, connected before the writes: one response a revision."""
    with Lab(pair) as lab:
        rev = lab.revision() + 1
        simple = lab.start("watch", "--prev-kv", "--prefix", "l/")
        ranged = lab.start("watch", "--hex", "l/a", "l/c")
        json = lab.start("watch", "-w", "json", "--prev-kv", "--prefix", "l/")
        fields = lab.start("watch", "-w", "fields", "--prefix", "l/")
        proto = lab.start("watch", "-w", "protobuf", "--prefix", "l/", transform="protobuf-watch")
        execs = lab.start("watch", "--prefix", "l/", "--", "sh", "-c", _SHOW)
        replay = lab.start("watch", f"--rev={rev}", "l/b")
        lab.wait_connected(simple, ranged, json, fields, proto, execs)
        lab.put("l/a", "1")
        lab.put("l/b", "two words")
        lab.put("l/a", b"\xff\x00bytes")
        lab.each(lambda c: c.txn().then(Op.put("l/c", "x"), Op.put("l/d", "y")).commit())
        lab.delete("l/a")
        lab.delete("l/", prefix=True)
        simple.wait(lines(37))
        ranged.wait(lines(15))
        json.wait(lines(6))
        fields.wait(lines(6 * 4 + 9 * 7))
        proto.wait(lambda out, err: out.count(b"l/") >= 9)
        execs.wait(lines(9 * 4))
        replay.wait(lines(6))
        for twin in (simple, ranged, json, fields, proto, execs, replay):
            twin.stop(signal.SIGINT)


def test_watch_interactive(pair: Pair) -> None:
    """``watch -i``: refused lines, argify's quirks and panics, live watches and progress."""
    with Lab(pair) as lab:
        rev = _history(lab, "i/")
        lab.run(
            step("watch -i", stdin="\n \t\nfoo bar\nwatch\nwatch i/a i/b --prefix\nprogress\n"),
            step("watch -i", stdin="watch i/a\nwatch i/b"),
            step("watch -i", stdin="watch --help\n"),
            step("watch -i", stdin="watch i/a --\n"),
            step("watch -i", stdin="watch --bogus i/a\n"),
            step("watch -i", stdin="watch --prefix\n"),
            step("watch -i", stdin='watch "i/\\q"\n'),
            step("watch -i", stdin="'x'\n"),
            step("watch -i", stdin="watch 'abc' 'de' x y z\n"),
            step("watch -i", stdin="watch i/a\n", env={"ETCDCTL_WATCH_KEY": "i/b"}),
        )
        show = "sh -c " + _go_quote(_SHOW)
        live = lab.start("watch", "-i")
        json = lab.start("watch", "-i", "-w", "json")
        for twin, count in ((live, 1), (json, 2)):
            twin.write(b"watch i/a --prev-kv\nprogress\n")
            twin.wait(lines(count))
        lab.put("i/a", "2")
        live.wait(lines(6))
        json.wait(lines(3))
        for twin, count in ((live, 6 + 8), (json, 3 + 3)):
            # a replay, its exec command given in Go quotes
            twin.write(f'watch --rev={rev} --prefix "i/b" -- {show}\n'.encode())
            twin.wait(lines(count))
        for twin, count in ((live, 14), (json, 7)):
            # three words: 'x' is cut to "x", which makes an empty range the server refuses
            twin.write(b"watch 'x' i/c\n")
            twin.wait(stderr_lines(1))
            twin.wait(lines(count))
        json.stop(signal.SIGINT)
        live.write(b"unknown\nwatch i/x i/y --prefix\n")
        live.wait(stderr_lines(3))
        live.write(b"watch i/d --progress-notify\nprogress\n")
        live.wait(lines(14 + 3))
        lab.put("i/d", "d")
        live.wait(lines(17 + 3))
        live.close_stdin()
        live.stop(None)
        # a printer's exit ends the command: a writer without watch output, a failed command
        table = lab.start("watch", "-i", "-w", "table")
        failing = lab.start("watch", "-i")
        table.write(b"watch i/t\nprogress\n")
        table.stop(None)
        failing.write(b"watch i/f -- false\nprogress\n")
        failing.wait(lines(1))
        lab.put("i/f", "f")
        failing.stop(None)


def _go_quote(text: str) -> str:
    """A Go double-quoted string of ASCII ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_watch_compacted(pair: Pair) -> None:
    """A watch from a compacted revision: canceled by the server, exit 5 (run last)."""
    with Lab(pair) as lab:
        _history(lab, "c/")
        rev = lab.revision()
        lab.each(lambda c: c.compact(rev))
        lab.run(
            step("watch --rev=2 c/a"),
            step("watch --rev=2 -w json c/a"),
            (step("watch --rev=2 -w protobuf c/a"), "protobuf-watch"),
        )
