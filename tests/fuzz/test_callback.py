"""``/jira/callback/`` against any query string, for a user with a real pending flow.

Properties (DESIGN §4, invariants 1 and 13):

- never a 500;
- a ``JiraConnection`` is stored exactly when the query carries the pending
  ``state`` and the code Jira issued for it, and no ``error`` (as Django reads
  the query: the last of repeated keys wins);
- the pending ``state`` is consumed exactly when the query names it, and then
  only once: the same query again is refused, reaches no Jira endpoint and
  stores nothing;
- a query that does not name the pending state leaves the flow pending, and
  usable with the code Jira issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import django
from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from django.test import Client
from hypothesis import event, example, given, reject
from hypothesis import strategies as st

from jira_connect import state
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.testing import JiraDCSimulator
from tests.flow.conftest import start
from tests.fuzz.conftest import rolled_back
from tests.fuzz.strategies import (
    encode_piece,
    encodings,
    extra_headers,
    percent_garbage,
    raw_bytes,
    text,
)

CALLBACK = "/jira/callback/"


class Real:
    """Placeholders for the values only known once the example runs."""

    STATE = "\x00REAL-STATE\x00"
    CODE = "\x00REAL-CODE\x00"


keys = st.one_of(
    st.sampled_from(["state", "code", "error", "error_description", "next"]),
    st.sampled_from(["State", "state[]", "state ", "co%64e", "", "=", "&"]),
    text,
)
values = st.one_of(
    st.sampled_from([Real.STATE, Real.CODE]),
    st.builds(lambda garbage, real: real + garbage, text, st.sampled_from([Real.STATE, Real.CODE])),
    text,
)


@dataclass(frozen=True)
class Piece:
    """One ``key=value`` of the query, encoded one way or another, or raw bytes."""

    key: str | bytes
    value: str | bytes | None
    key_encoding: str
    value_encoding: str

    def render(self, real_state: str, real_code: str) -> bytes:
        def one(part: str | bytes, how: str) -> bytes:
            if isinstance(part, bytes):
                return part
            part = part.replace(Real.STATE, real_state).replace(Real.CODE, real_code)
            return encode_piece(part, how)

        key = one(self.key, self.key_encoding)
        if self.value is None:
            return key
        return key + b"=" + one(self.value, self.value_encoding)

    @property
    def needs_code(self) -> bool:
        return any(isinstance(part, str) and Real.CODE in part for part in (self.key, self.value))


pieces = st.builds(
    Piece,
    key=st.one_of(keys, keys, raw_bytes, percent_garbage),
    value=st.one_of(values, values, values, st.none(), raw_bytes, percent_garbage),
    key_encoding=encodings,
    value_encoding=encodings,
)
#: Pieces an OAuth callback is made of, with the real values or garbage.
plausible = st.builds(
    Piece,
    key=st.sampled_from(["state", "state", "code", "code", "error", "error_description"]),
    value=st.one_of(st.sampled_from([Real.STATE, Real.CODE, "", "access_denied"]), values),
    key_encoding=st.just("quote"),
    value_encoding=st.sampled_from(["quote", "quote", "plus", "raw", "double"]),
)
STATE = Piece("state", Real.STATE, "quote", "quote")
CODE = Piece("code", Real.CODE, "quote", "quote")
real_pair_in_garbage = st.builds(
    lambda before, pair, after: [*before, *pair, *after],
    st.lists(st.one_of(pieces, plausible), max_size=3),
    st.permutations([STATE, CODE]),
    st.lists(st.one_of(pieces, plausible), max_size=2),
)
separators = st.sampled_from([b"&", b"&", b"&", b";", b"&&", b"&amp;"])
queries = st.tuples(
    st.one_of(
        st.lists(pieces, max_size=8),
        st.lists(plausible, min_size=1, max_size=5),
        real_pair_in_garbage,
    ),
    separators,
)

VALID = ([STATE, CODE], b"&")


def query_bytes(spec: tuple[list[Piece], bytes], real_state: str, real_code: str) -> bytes:
    parts, separator = spec
    return separator.join(piece.render(real_state, real_code) for piece in parts)


def pending_states(browser: Client) -> set[str]:
    return set(browser.session.get(state.SESSION_KEY, {}))


def callback_get(browser: Client, raw_query: bytes, headers: dict[str, str] | None = None) -> Any:
    # WSGI servers hand the raw query bytes over as a latin-1 str; Django decodes them.
    extra: dict[str, Any] = {**(headers or {}), "QUERY_STRING": raw_query.decode("latin-1")}
    return browser.generic("GET", CALLBACK, **extra)


#: Any header but Host: the flow's redirect URI is built from the Host, and must match Jira's.
headers_but_host = extra_headers.map(
    lambda headers: {name: value for name, value in headers.items() if name != "HTTP_HOST"}
)


@given(spec=queries, headers=headers_but_host)
@example(spec=VALID, headers={})
@example(spec=([Piece("code", "garbage", "quote", "quote"), *VALID[0]], b"&"), headers={})
@example(spec=([*VALID[0], Piece("error", "access_denied", "quote", "quote")], b"&"), headers={})
@example(spec=([*VALID[0], Piece("state", "x", "quote", "quote")], b"&"), headers={})
@example(spec=([Piece(b"a", b"b", "raw", "raw")] * 1001, b"&"), headers={})  # Django's limit
def test_callback_query_strings(
    browser: Client,
    link: JiraLink,
    jira: JiraDCSimulator,
    spec: tuple[list[Piece], bytes],
    headers: dict[str, str],
) -> None:
    browser.cookies.pop("messages", None)
    with rolled_back():
        authorize_url = start(browser, link)
        real_state = parse_qs(urlsplit(authorize_url).query)["state"][0]
        real_code = ""
        if any(piece.needs_code for piece in spec[0]):
            real_code = parse_qs(urlsplit(jira.authorize(authorize_url)).query)["code"][0]
        raw = query_bytes(spec, real_state, real_code or "no-code-was-issued")
        try:
            params = QueryDict(raw)  # exactly what the view reads
        except TooManyFieldsSent:
            if django.VERSION < (5, 0):
                # Django 4.2's 400 handler reads request.GET again and fails the same way (a 500
                # from Django itself, fixed in 5.0): nothing of ours to check here.
                reject()
            assert callback_get(browser, raw).status_code == 400
            assert real_state in pending_states(browser)
            return
        names_state = params.get("state") == real_state
        valid = (
            names_state
            and not params.get("error")
            and bool(real_code)
            and params.get("code") == real_code
        )
        exchanges = jira.token_requests("authorization_code")

        response = callback_get(browser, raw, headers)
        event(
            f"{response.status_code}{', connected' if valid else ''}{', state named' if names_state else ''}"
        )

        assert response.status_code != 500
        assert response.status_code in {302, 400, 502, 503}, response.status_code
        stored = JiraConnection.objects.filter(link=link).exists()
        assert stored == valid, f"stored={stored} for {raw!r}"
        if valid:
            assert response.status_code == 302
            assert response["Location"] == "/jira/"
        exchanged = jira.token_requests("authorization_code") - exchanges
        assert exchanged == (
            1 if names_state and not params.get("error") and params.get("code") else 0
        )
        assert (real_state in pending_states(browser)) == (not names_state)

        if names_state:
            # Consumed once: the same query again is refused before Jira is asked anything.
            before = (jira.token_requests(), JiraConnection.objects.count())
            again = callback_get(browser, raw)
            # A replay after success (Back to Jira's consent page, Allow again) is told it is
            # connected; any other replay is refused.
            assert again.status_code == (302 if valid else 400)
            assert (jira.token_requests(), JiraConnection.objects.count()) == before
        elif real_code:
            # Garbage that carried Jira's code without the state neither consumed the flow nor
            # spent the code: the genuine callback still completes.
            genuine = f"{CALLBACK}?{urlencode({'state': real_state, 'code': real_code})}"
            finished = browser.get(genuine)
            assert finished.status_code == 302, finished.content[:300]
            assert JiraConnection.objects.filter(link=link).exists()
