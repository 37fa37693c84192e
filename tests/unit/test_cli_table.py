"""etcdctl's table writer (tablewriter v0.0.5, go-runewidth v0.0.9), byte for byte.

Expected tables are the spec's and etcdctl 3.5.1's own output ([BIN]: `endpoint health -w
table` against the dead endpoint ``127.0.0.1:1``, whose name lands in the first column).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcd3py.cli._table import display_width, render

HEALTH = ["endpoint", "health", "took", "error"]
DEADLINE = "context deadline exceeded"
STATUS = [
    "endpoint",
    "ID",
    "version",
    "db size",
    "is leader",
    "is learner",
    "raft term",
    "raft index",
    "raft applied index",
    "errors",
]


def _table(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_the_spec_endpoint_health_table() -> None:
    row = ["127.0.0.1:1", "false", "1.001587973s", DEADLINE]
    assert render(HEALTH, [row]) == _table(
        "+-------------+--------+--------------+---------------------------+",
        "|  ENDPOINT   | HEALTH |     TOOK     |           ERROR           |",
        "+-------------+--------+--------------+---------------------------+",
        "| 127.0.0.1:1 |  false | 1.001587973s | context deadline exceeded |",
        "+-------------+--------+--------------+---------------------------+",
    )


def test_rows_in_order_right_aligned() -> None:  # [BIN]
    rows = [
        ["127.0.0.1:1", "false", "1.629047ms", DEADLINE],
        ["127.0.0.1:2", "false", "1.895845ms", DEADLINE],
    ]
    assert render(HEALTH, rows) == _table(
        "+-------------+--------+------------+---------------------------+",
        "|  ENDPOINT   | HEALTH |    TOOK    |           ERROR           |",
        "+-------------+--------+------------+---------------------------+",
        "| 127.0.0.1:1 |  false | 1.629047ms | context deadline exceeded |",
        "| 127.0.0.1:2 |  false | 1.895845ms | context deadline exceeded |",
        "+-------------+--------+------------+---------------------------+",
    )


def test_header_only_tables() -> None:  # [BIN]: endpoint status / hashkv, every endpoint failed
    border = (
        "+----------+----+---------+---------+-----------+------------+-----------+"
        "------------+--------------------+--------+"
    )
    assert render(STATUS, []) == _table(
        border,
        "| ENDPOINT | ID | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM |"
        " RAFT INDEX | RAFT APPLIED INDEX | ERRORS |",
        border,
        border,
    )
    assert render(["endpoint", "hash"], []) == _table(
        "+----------+------+",
        "| ENDPOINT | HASH |",
        "+----------+------+",
        "+----------+------+",
    )


def test_member_list_table() -> None:  # etcd 3.5's published `member list -w table`
    header = ["ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"]
    rows = [
        [f"{id_}", "started", name, f"http://{ip}:2380", f"http://{ip}:2379", "false"]
        for id_, name, ip in [
            ("2f477b081f877ca", "etcd142", "192.168.80.142"),
            ("1d9caaa96b82c2a1", "etcd141", "192.168.80.141"),
            ("e16a54f0b1466abc", "etcd143", "192.168.80.143"),
        ]
    ]
    border = (
        "+------------------+---------+---------+----------------------------+"
        "----------------------------+------------+"
    )
    assert render(header, rows) == _table(
        border,
        "|        ID        | STATUS  |  NAME   |         PEER ADDRS         |"
        "        CLIENT ADDRS        | IS LEARNER |",
        border,
        "|  2f477b081f877ca | started | etcd142 | http://192.168.80.142:2380 |"
        " http://192.168.80.142:2379 |      false |",
        "| 1d9caaa96b82c2a1 | started | etcd141 | http://192.168.80.141:2380 |"
        " http://192.168.80.141:2379 |      false |",
        "| e16a54f0b1466abc | started | etcd143 | http://192.168.80.143:2380 |"
        " http://192.168.80.143:2379 |      false |",
        border,
    )


_HEALTH_TOP = (
    "+--------------------------------+--------+------------+---------------------------+",
    "|            ENDPOINT            | HEALTH |    TOOK    |           ERROR           |",
    "+--------------------------------+--------+------------+---------------------------+",
)
_PAD = "|        |            |                           |"

# [BIN] endpoint names over 30 columns: (endpoint, took, the endpoint column's lines)
WRAPPED = [
    (
        "aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk:1",
        "1.266152ms",
        ["   aaa bbb ccc ddd eee fff ggg", "             hhh iii jjj kkk:1"],
    ),
    (
        "\u65e5\u672c\u8a9e \u30db\u30b9\u30c8\u540d \u3068\u3066\u3082 \u9577\u3044 "
        "\u540d\u524d \u3067\u3059 \u306d \u672c\u5f53 \u306b \u9577\u3044:1",
        "1.389975ms",
        [
            "   \u65e5\u672c\u8a9e \u30db\u30b9\u30c8\u540d \u3068\u3066\u3082 \u9577\u3044",
            "   \u540d\u524d \u3067\u3059 \u306d \u672c\u5f53 \u306b \u9577\u3044:1",
        ],
    ),
    (  # empty words between runs of spaces count
        "a  b   c    d     e      f       g        h:1",
        "1.392974ms",
        ["a  b   c    d     e      f    ", "                  g        h:1"],
    ),
    (  # combining accents take no column
        "e\u0301e\u0301e\u0301 combining marks here and there and everywhere:1",
        "1.500572ms",
        ["  e\u0301e\u0301e\u0301 combining marks here and", "        there and everywhere:1"],
    ),
    (  # ANSI colours are not measured (a tab is zero columns wide)
        "\x1b[31mred\x1b[0m and a very long string with colours in it:1",
        "1.166943ms",
        ["           \x1b[31mred\x1b[0m and a very long", "   string with colours in it:1"],
    ),
    (
        "tab\there and more words to make it wrap around:1",
        "1.200653ms",
        ["tab\there and more words to make", "              it wrap around:1"],
    ),
    (
        "\uff41\uff42\uff43 fullwidth \uff44\uff45\uff46 \uff47\uff48\uff49 \uff4a\uff4b\uff4c "
        "\uff4d\uff4e\uff4f \uff50\uff51\uff52:1",
        "1.179517ms",
        [
            "\uff41\uff42\uff43 fullwidth \uff44\uff45\uff46 \uff47\uff48\uff49",
            "        \uff4a\uff4b\uff4c \uff4d\uff4e\uff4f \uff50\uff51\uff52:1",
        ],
    ),
]


@pytest.mark.parametrize(("endpoint", "took", "column"), WRAPPED)
def test_long_cells_wrap_at_spaces_like_etcdctl(
    endpoint: str, took: str, column: list[str]
) -> None:
    first = f"| {column[0]} |  false | {took} | {DEADLINE} |"
    rest = [f"| {line} {_PAD}" for line in column[1:]]
    assert render(HEALTH, [[endpoint, "false", took, DEADLINE]]) == _table(
        *_HEALTH_TOP, first, *rest, _HEALTH_TOP[0]
    )


def test_three_line_cell() -> None:  # [BIN]
    endpoint = "x y z w v u t s r q p o n m l k j i h g f e d c b a 1 2 3 4 5 6 7 8:1"
    border = "+--------------------------------+--------+-----------+---------------------------+"
    assert render(HEALTH, [[endpoint, "false", "1.16694ms", DEADLINE]]) == _table(
        border,
        "|            ENDPOINT            | HEALTH |   TOOK    |           ERROR           |",
        border,
        "|  x y z w v u t s r q p o n m l |  false | 1.16694ms | context deadline exceeded |",
        "|  k j i h g f e d c b a 1 2 3 4 |        |           |                           |",
        "|                      5 6 7 8:1 |        |           |                           |",
        border,
    )


def test_a_word_longer_than_30_widens_the_column() -> None:  # [BIN]
    endpoint = "http://a-very-long-hostname-without-spaces.example.com:1 x"
    lines = render(HEALTH, [[endpoint, "false", "1.2672ms", DEADLINE]]).splitlines()
    assert lines[1].startswith("|                         ENDPOINT                         | ")
    assert lines[3].startswith(
        "| http://a-very-long-hostname-without-spaces.example.com:1 |  false"
    )
    assert lines[4].startswith("|" + " " * 56 + "x |        |")
    assert len(lines) == 6


def test_newlines_in_a_cell_reflow_and_header_title() -> None:
    # two short lines: the width is the longest line, the words are re-wrapped to it
    table = render(["a_b", "1.5"], [["ab\ncd", "x"]])
    assert table == _table(
        "+-----+-----+",
        "| A B | 1.5 |",
        "+-----+-----+",
        "|  ab |   x |",
        "|  cd |     |",
        "+-----+-----+",
    )


def test_display_width() -> None:
    assert display_width("abc") == 3
    assert display_width("\u65e5\u672c") == 4  # East Asian Wide
    assert display_width("\uff21") == 2  # Fullwidth
    assert display_width("e\u0301") == 1  # combining
    assert display_width("a\u200bb") == 2  # zero width space
    assert display_width("\x1b[1;31mred\x1b[0m") == 3
    assert display_width("\t\x7f") == 0  # go-runewidth counts controls as 0
    assert display_width("") == 0


@given(st.lists(st.text(alphabet="ab _-", min_size=2, max_size=40), min_size=1, max_size=4))
def test_every_line_of_ascii_tables_has_the_border_width(header: list[str]) -> None:
    lines = render(header, [header, header[::-1]]).splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[0] == lines[-1]
