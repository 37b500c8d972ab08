"""What Jira (or whatever answers at its address) can send back: status, headers, body."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

import responses
from hypothesis import strategies as st

from tests.fuzz.strategies import (
    characters,
    deep_nesting,
    dumps,
    header_text,
    json_values,
    nasty_text,
    short_text,
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def serve(self, mock: responses.RequestsMock, method: str, url: str) -> None:
        mock.add(
            method,
            url,
            body=self.body,
            status=self.status,
            headers=self.headers,
            content_type=self.content_type,
        )

    def __repr__(self) -> str:  # readable falsifying examples
        body = (
            self.body
            if len(self.body) <= 300
            else self.body[:300] + b"...(%d bytes)" % len(self.body)
        )
        return (
            f"Answer(status={self.status}, content_type={self.content_type!r}, "
            f"headers={self.headers!r}, body={body!r})"
        )


statuses = st.one_of(
    st.sampled_from(
        [200, 201, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 429, 500, 502, 503]
    ),
    st.integers(min_value=200, max_value=599),
)

content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json;charset=UTF-8",
            "application/json; charset=iso-8859-1",
            "text/html; charset=utf-8",
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
            "",
        ]
    ),
    header_text,
)

locations = st.one_of(
    st.sampled_from(
        [
            "https://jira.example.com/jira/login.jsp?os_destination=%2Frest",
            "/jira/",
            "http://jira.example.com/jira/rest/oauth2/latest/token",
            "https://sso.example.com/saml?RelayState=abc#frag",
            "http://[x",
            "http://[::1]:99999/",
            "http://a]b/",
            "//evil.com",
            "javascript:alert(1)",
            "",
        ]
    ),
    header_text,
)

extra_headers = st.fixed_dictionaries(
    {},
    optional={
        "Location": locations,
        "Content-Encoding": st.one_of(
            st.sampled_from(["gzip", "deflate", "br", "zstd", "identity", "gzip, gzip"]),
            header_text,
        ),
        "Content-Length": st.one_of(
            st.sampled_from(["0", "1", "99999999999", "-1", " 12 ", "1,1", "0x10"]), header_text
        ),
        "X-AUSERNAME": header_text,
        "WWW-Authenticate": header_text,
        "Retry-After": header_text,
    },
)


def secret_bearing(secrets: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Text that echoes one of the request's secrets, as a careless server or proxy might."""
    return st.builds(
        lambda before, secret, after: before + secret + after,
        short_text,
        st.sampled_from(secrets),
        short_text,
    )


def field_values(secrets: tuple[str, ...]) -> st.SearchStrategy[object]:
    return st.one_of(json_values, nasty_text, secret_bearing(secrets), st.sampled_from(secrets))


def token_objects(secrets: tuple[str, ...]) -> st.SearchStrategy[dict[str, object]]:
    """Objects shaped like token or OAuth error answers, every field possibly wrong."""
    values = field_values(secrets)
    return st.fixed_dictionaries(
        {},
        optional={
            "access_token": st.one_of(st.text(characters, min_size=1, max_size=40), values),
            "refresh_token": st.one_of(st.text(characters, max_size=40), values),
            "token_type": st.one_of(
                st.sampled_from(["bearer", "Bearer", " BEARER ", "mac", "", "bearer\x00"]), values
            ),
            "expires_in": st.one_of(
                st.integers(),
                st.integers(min_value=10**15, max_value=10**400),
                st.floats(),
                st.sampled_from(["3600", " 7200 ", "1e999", "-5", "nan", "inf", "0x10", "", "١٢٣"]),
                values,
            ),
            "scope": values,
            "scopes": st.one_of(st.lists(values, max_size=3), values),
            "error": st.one_of(
                st.sampled_from(
                    ["invalid_grant", "invalid_client", "invalid_request", "access_denied", "", " "]
                ),
                values,
            ),
            "error_description": values,
            "message": values,
            "errorMessage": values,
            "errorMessages": st.one_of(st.lists(values, max_size=3), values),
            "key": values,
            "name": values,
            "displayName": values,
            "emailAddress": values,
            "active": values,
        },
    ).flatmap(
        lambda known: st.dictionaries(st.text(characters, max_size=12), values, max_size=3).map(
            lambda junk: {**junk, **known}
        )
    )


def _json_body(value: object) -> st.SearchStrategy[bytes]:
    text = dumps(value)  # NaN and Infinity included: Python's json reads them back
    return st.sampled_from(
        [
            text.encode("utf-8"),
            text.encode("utf-16"),
            text.encode("latin-1", errors="replace"),
            b"\xef\xbb\xbf" + text.encode("utf-8"),
        ]
    )


def bodies(
    secrets: tuple[str, ...], objects: st.SearchStrategy[dict[str, object]]
) -> st.SearchStrategy[bytes]:
    html = st.builds(
        lambda inner: f"<!DOCTYPE html><html><body><h1>Login</h1>{inner}</body></html>".encode(),
        st.one_of(short_text, secret_bearing(secrets)),
    )
    return st.one_of(
        objects.flatmap(_json_body),
        objects.flatmap(_json_body),
        json_values.flatmap(_json_body),
        st.binary(max_size=200),
        html,
        st.sampled_from(
            [b"", b" ", b"null", b"[]", b'"text"', b"1e999", b"{", b'{"a":}', b"\xff\xfe"]
        ),
        deep_nesting().map(str.encode),
        st.builds(
            lambda n: b'{"expires_in": ' + b"9" * n + b', "access_token": "x"}',
            st.integers(4_000, 6_000),
        ),
        objects.map(lambda value: gzip.compress(dumps(value).encode())),
    )


def answers(
    secrets: tuple[str, ...], objects: st.SearchStrategy[dict[str, object]] | None = None
) -> st.SearchStrategy[Answer]:
    return st.builds(
        Answer,
        status=statuses,
        body=bodies(secrets, objects if objects is not None else token_objects(secrets)),
        content_type=content_types,
        headers=extra_headers,
    )
