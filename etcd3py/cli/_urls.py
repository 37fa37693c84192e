"""Peer URLs as clientv3 checks them before a member add or update (Go 1.16 net/url and net).

clientv3's ``types.NewURLs`` parses each URL with Go's ``url.Parse`` and then requires an
``http``/``https``/``unix``/``unixs`` scheme, a ``host:port`` and no path; etcdctl prints
Go's exact words for each refusal, which :func:`check_urls` reproduces.
"""

from __future__ import annotations

from collections.abc import Sequence

from etcd3py.cli._console import ERROR, fail
from etcd3py.cli._gofmt import quote

__all__ = ["check_urls"]

#: Go's unicode.IsSpace, which strings.TrimSpace strips.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: ASCII bytes a host may hold unescaped besides letters and digits.
_HOST_OK = frozenset(b"!$&'()*+,;=:[]<>\"-_.~")
_USERINFO_OK = frozenset("-._:~!$&'()*+,;=%@")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class _URLError(Exception):
    """Why Go's ``url.Parse`` refuses a URL (its error text, without ``parse "<url>": ``)."""


def _host_needs_escape(byte: int) -> bool:
    """Go's ``shouldEscape(c, encodeHost)``."""
    return not (chr(byte).isascii() and chr(byte).isalnum()) and byte not in _HOST_OK


def _unescape(text: str, mode: str) -> str:
    """Go's ``unescape``: ``%XX`` decoded; ``host`` and ``zone`` also refuse some bytes.

    Raises:
        _URLError: ``invalid URL escape "%zz"`` or ``invalid character " " in host name``.
    """
    data = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == ord("%"):
            escape = data[i : i + 3]
            if i + 2 >= len(data) or data[i + 1] not in _HEX or data[i + 2] not in _HEX:
                raise _URLError(f"invalid URL escape {quote(escape)}")
            value = int(escape[1:], 16)
            if mode == "host" and value < 0x80 and escape != b"%25":
                raise _URLError(f"invalid URL escape {quote(escape)}")
            if mode == "zone" and escape != b"%25" and value != 0x20 and _host_needs_escape(value):
                raise _URLError(f"invalid URL escape {quote(escape)}")
            out.append(value)
            i += 3
            continue
        if mode in ("host", "zone") and byte < 0x80 and _host_needs_escape(byte):
            raise _URLError(f"invalid character {quote(bytes([byte]))} in host name")
        out.append(byte)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _valid_optional_port(port: str) -> bool:
    """Go's ``validOptionalPort``: empty, or ``:`` and digits."""
    return port == "" or (port[0] == ":" and all("0" <= c <= "9" for c in port[1:]))


def _parse_host(host: str) -> str:
    """Go's ``parseHost``: the unescaped host (with its port).

    Raises:
        _URLError: a bad IP literal, port or character.
    """
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise _URLError("missing ']' in host")
        port = host[end + 1 :]
        if not _valid_optional_port(port):
            raise _URLError(f"invalid port {quote(port)} after host")
        zone = host[:end].find("%25")
        if zone >= 0:
            return (
                _unescape(host[:zone], "host")
                + _unescape(host[zone:end], "zone")
                + _unescape(host[end:], "host")
            )
    elif ":" in host:
        port = host[host.rfind(":") :]
        if not _valid_optional_port(port):
            raise _URLError(f"invalid port {quote(port)} after host")
    return _unescape(host, "host")


def _parse_authority(authority: str) -> str:
    """Go's ``parseAuthority``: the host of ``[userinfo@]host`` (userinfo checked).

    Raises:
        _URLError: a bad host or userinfo.
    """
    at = authority.rfind("@")
    host = _parse_host(authority[at + 1 :])
    if at >= 0:
        userinfo = authority[:at]
        if not all((c.isascii() and c.isalnum()) or c in _USERINFO_OK for c in userinfo):
            raise _URLError("net/url: invalid userinfo")
        for part in userinfo.split(":", 1):
            _unescape(part, "userinfo")
    return host


def _scheme(raw: str) -> tuple[str, str]:
    """Go's ``getscheme``: (scheme, rest); no scheme when the text does not start with one.

    Raises:
        _URLError: the text starts with ``:``.
    """
    for i, char in enumerate(raw):
        if char.isascii() and char.isalpha():
            continue
        if char in "0123456789+-.":
            if i == 0:
                return "", raw
            continue
        if char == ":":
            if i == 0:
                raise _URLError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _parse(raw: str) -> tuple[str, str, str]:
    """Go's ``url.parse`` (not via a request): (scheme, host, path).

    Raises:
        _URLError: the reason the URL is refused.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise _URLError("net/url: invalid control character in URL")
    if raw == "*":
        return "", "", "*"
    scheme, rest = _scheme(raw)
    scheme = scheme.lower()
    # a lone trailing "?" is a ForceQuery; otherwise the query is cut off
    forced = rest.endswith("?") and rest.count("?") == 1
    rest = rest[:-1] if forced else rest.split("?", 1)[0]
    if not rest.startswith("/"):
        if scheme:
            return scheme, "", ""  # an opaque URL
        colon, slash = rest.find(":"), rest.find("/")
        if colon >= 0 and (slash < 0 or colon < slash):
            raise _URLError("first path segment in URL cannot contain colon")
    host = ""
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, sep, tail = rest[2:].partition("/")
        host = _parse_authority(authority)
        rest = sep + tail
    return scheme, host, _unescape(rest, "path")


def _split_host_port_ok(hostport: str) -> bool:
    """Whether Go's ``net.SplitHostPort`` accepts ``hostport``."""
    colon = hostport.rfind(":")
    if colon < 0:
        return False
    start, end = 0, 0
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0 or close + 1 != colon:
            return False
        start, end = 1, close + 1
    elif ":" in hostport[:colon]:
        return False
    return "[" not in hostport[start:] and "]" not in hostport[end:]


def check_urls(urls: Sequence[str]) -> None:
    """Check peer URLs as clientv3 does before a member add or update (types.NewURLs).

    Raises:
        Exit: Go's ``url.Parse`` error, or the scheme, ``host:port`` or path rule (exit 1).
    """
    for url in urls:
        text = url.strip(_GO_SPACE)
        raw, _, fragment = text.partition("#")
        try:
            scheme, host, path = _parse(raw)
        except _URLError as exc:
            raise fail(ERROR, f"parse {quote(raw)}: {exc}") from None
        try:
            if fragment:
                _unescape(fragment, "fragment")
        except _URLError as exc:
            raise fail(ERROR, f"parse {quote(text)}: {exc}") from None
        if scheme not in ("http", "https", "unix", "unixs"):
            raise fail(ERROR, f"URL scheme must be http, https, unix, or unixs: {text}")
        if not _split_host_port_ok(host):
            raise fail(ERROR, f'URL address does not have the form "host:port": {text}')
        if path:
            raise fail(ERROR, f"URL must not contain a path: {text}")
