"""Hypothesis strategies for what users and Jira send: text, query strings, ``next``, bodies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

# --- text ----------------------------------------------------------------------------------------

#: Any character a request can carry: control characters included, lone surrogates excluded
#: (no UTF-8 byte sequence decodes to one, so no HTTP request can hold one).
characters = st.characters(exclude_categories=["Cs"])

#: What people and attackers type, and what encoders choke on.
NASTY = (
    "",
    " ",
    "\x00",
    "\r\n",
    "\t",
    "%",
    "%%",
    "%zz",
    "%00",
    "%ff%fe",
    "%C0%AF",
    "%E2%80%AE",
    "+",
    "&",
    "=",
    ";",
    "#",
    "?",
    "\\",
    "'\"<>",
    "<script>alert(1)</script>",
    "{{ 7|add:7 }}",
    "{% debug %}",
    "%(link)s",
    "%s%s%s",
    "None",
    "null",
    "[]",
    "{}",
    "0",
    "-1",
    "1e999",
    "NaN",
    "\u202e",
    "\ufeff",
    "\u0130",
    "\U0001f600",
    "\uffff",
    "ﬃ",
    "\uff41\uff42\uff43",  # fullwidth abc
    "access_denied",
    "invalid_scope",
    "invalid_grant",
    "server_error",
)

nasty_text = st.sampled_from(NASTY)
long_text = st.builds(
    lambda piece, n: (piece * n)[:20_000],
    st.text(characters, min_size=1, max_size=3),
    st.integers(100, 20_000),
)
text = st.one_of(st.text(characters, max_size=40), nasty_text, long_text)
short_text = st.one_of(st.text(characters, max_size=20), nasty_text)

#: Header values as a WSGI server hands them over: latin-1, no line breaks.
header_text = st.one_of(
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=60),
    st.sampled_from(["", " ", "anonymous", "ANONYMOUS ", "\t", "null", "é", "\xb2", "1" * 400]),
)

# --- query strings as raw bytes -------------------------------------------------------------------


def encode_piece(value: str, how: str) -> bytes:
    """One key or value of a query string, encoded as a client might (or might not)."""
    if how == "quote":
        return quote(value, safe="").encode("ascii")
    if how == "plus":
        return quote_plus(value).encode("ascii")
    if how == "double":
        return quote(quote(value, safe=""), safe="").encode("ascii")
    if how == "latin1":
        return quote(value, safe="", encoding="latin-1", errors="replace").encode("ascii")
    return value.encode("utf-8")  # raw: whatever the bytes are, & = # and all


encodings = st.sampled_from(["quote", "quote", "plus", "double", "latin1", "raw"])
raw_bytes = st.binary(max_size=40)
percent_garbage = st.lists(
    st.sampled_from(
        ["%", "%2", "%zz", "%ff", "%00", "%C3", "%C3%28", "%E2%82", "+", "&", "=", ";"]
    ),
    max_size=8,
).map(lambda parts: "".join(parts).encode("ascii"))


def next_values() -> st.SearchStrategy[str]:
    """``next`` values: open redirects in every spelling, and harmless local paths."""
    hosts = st.sampled_from(
        [
            "evil.com",
            "testserver",
            "testserver.evil.com",
            "evil.com@testserver",
            "testserver@evil.com",
            "evil.com\\@testserver",
            "[::1]",
            "127.0.0.1",
            "localhost",
            "\uff45\uff56\uff49\uff4c.com",  # fullwidth evil
            "xn--e1afmkfd.com",
        ]
    )
    prefixes = st.sampled_from(
        [
            "http://",
            "https://",
            "//",
            "///",
            "\\\\",
            "/\\",
            "\\/",
            "/\t/",
            " //",
            "\x00//",
            "\x0c//",
            "\u3000//",
            "javascript:",
            "JaVaScRiPt:",
            "data:text/html,",
            "ftp://",
            "http:/",
            "http:\\\\",
            "https:",
            "%2F%2F",
            "/%2F",
            "/%5C",
            "",
            "/",
        ]
    )
    paths = st.sampled_from(
        ["", "/", "/jira/", "/x?y=1#z", "/%0d%0aSet-Cookie:x=1", "/\u202e", "alert(1)"]
    )
    built = st.builds(lambda p, h, q: p + h + q, prefixes, hosts, paths)
    encoded = built.flatmap(
        lambda value: st.sampled_from([value, quote(value), quote(value, safe="")])
    )
    local = st.sampled_from(["/", "/jira/", "/jira/?a=b", "/ok/#frag", "jira/", "..", "/./../"])
    return st.one_of(built, encoded, local, text)


next_text = next_values()

# --- request headers ------------------------------------------------------------------------------

#: Headers anyone can send. The Host is a valid one or garbage (``DisallowedHost``, a 400).
host_values = st.one_of(
    st.sampled_from(
        [
            "testserver",
            "testserver:80",
            "localhost",
            "127.0.0.1:8000",
            "evil.com",
            "[::1",
            "a b",
            "",
        ]
    ),
    header_text,
)
_any_headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_HOST": host_values,
        "HTTP_ACCEPT_LANGUAGE": header_text,
        "HTTP_REFERER": header_text,
        "HTTP_ORIGIN": header_text,
        "HTTP_USER_AGENT": header_text,
        "HTTP_X_FORWARDED_FOR": header_text,
        "HTTP_X_FORWARDED_HOST": host_values,
        "HTTP_X_FORWARDED_PROTO": header_text,
        "HTTP_ACCEPT": header_text,
    },
)
#: Mostly none or harmless ones, so that requests get past the Host check often enough.
extra_headers: st.SearchStrategy[dict[str, str]] = st.one_of(
    st.just({}),
    _any_headers.map(lambda headers: {k: v for k, v in headers.items() if k != "HTTP_HOST"}),
    _any_headers,
)

# --- JSON and other bodies ------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(characters, max_size=30),
    nasty_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(characters, max_size=10), children, max_size=4),
    ),
    max_leaves=12,
)


def deep_nesting() -> st.SearchStrategy[str]:
    """JSON nested deeper than Python's recursion limit (Jira never does this; a proxy might)."""
    return st.builds(
        lambda opening, depth: opening * depth,
        st.sampled_from(["[", '{"a":', '[{"a":']),
        st.integers(min_value=1_500, max_value=30_000),
    )


def dumps(value: Any) -> str:
    """JSON text of ``value``, with Python's non-standard ``Infinity`` / ``NaN`` allowed."""
    return json.dumps(value, ensure_ascii=False)
