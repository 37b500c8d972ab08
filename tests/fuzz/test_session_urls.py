"""Where connection.session() sends a call: any URL resolves as ``urljoin`` resolves it.

The session appends a plain relative path to the link's base URL without
parsing it (the common case, and a cost on every call); this checks that
shortcut against the rule it stands for (an absolute URL as it is, anything
else ``urljoin``-ed onto the base URL after its leading slashes), for any
string and a few base URLs, normal and not.
"""

from __future__ import annotations

import functools
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jira_connect.models import JiraConnection, JiraLink
from jira_connect.session import JiraSession

BASES = (
    "http://jira.example.com/jira",
    "https://jira.example.com",
    "https://jira.example.com/a//b/",
    "https://jira.example.com/a/./b/../c",
    "https://jira.example.com/a;x/b",
)
PIECES = st.sampled_from(
    ["rest", "api", "2", "/", "//", ".", "..", "?", "#", ";", ":", "\\", " ", "\t", "\n",
     "%2e", "=", "&", "é", "http:", "https://other.example/", "x", "ABC-1"]
)  # fmt: skip


def expected(base_url: str, url: str) -> str:
    """The rule: absolute URLs as they are, the rest joined onto the base URL."""
    base = base_url.rstrip("/") + "/"
    return url if urlsplit(url).scheme else urljoin(base, url.lstrip("/"))


@functools.cache
def session_for(base_url: str) -> JiraSession:
    link = JiraLink(pk=1, base_url=base_url, client_id="client", verify_tls=True, ca_bundle="")
    return JiraSession(JiraConnection(pk=1, link=link, access_token="token", status="active"))


@pytest.mark.parametrize("base_url", BASES)
@given(url=st.one_of(st.lists(PIECES, max_size=8).map("".join), st.text(max_size=30)))
@example(url="rest/api/2/myself")
@example(url="a//b")
@example(url="a?")
@example(url="a;")
@example(url="")
def test_any_url_resolves_as_urljoin_would(base_url: str, url: str) -> None:
    assert session_for(base_url)._absolute(url) == expected(base_url, url)
