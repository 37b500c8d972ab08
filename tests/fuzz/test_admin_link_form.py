"""The admin's "Add Jira link" form (``JiraLinkForm``) against any value in any field.

Properties (DESIGN §4, invariants 7 and 13), posted as a superuser:

- never a 500;
- either a 302 with exactly one new link, valid and normalised (base URL
  without trailing slash and as ``normalize_base_url`` leaves it, scope in its
  smallest form, the secret as typed, stripped), or a 200 re-rendering the form
  with errors and nothing saved;
- the typed client secret is never in the response, nor in the saved link's
  change page.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client
from django.urls import reverse
from hypothesis import event, example, given
from hypothesis import strategies as st

from jira_connect import scopes
from jira_connect.models import JiraLink
from jira_connect.validators import normalize_base_url, validate_base_url
from tests.fuzz.conftest import rolled_back
from tests.fuzz.strategies import characters, nasty_text, short_text, text

ADD_URL = "/admin/jira_connect/jiralink/add/"


def _certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fuzz CA")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


PEM = _certificate()
BEGIN, END = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"

# --- field values --------------------------------------------------------------------------------

#: Hosts the form accepts, in the spellings staff paste: the valid base URLs are built on them,
#: and the fuzzed ones mix them with broken hosts.
GOOD_HOSTS = [
    "jira.example.com",
    "JIRA.Example.COM",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "xn--bcher-kva.example",
]

hosts = st.one_of(
    st.sampled_from(
        [
            *GOOD_HOSTS,
            "[::1",
            "::1]",
            "bücher.example",
            "ex\uff03ample.com",
            "ex\u2100ample.com",
            "user:pw@jira.example.com",
            "@jira.example.com",
            "jira.example.com.",
            "-bad-.example.com",
            "a" * 64 + ".com",
            "",
            " ",
        ]
    ),
    short_text,
)
ports = st.one_of(
    st.just(""),
    st.sampled_from(
        [":443", ":8080", ":0", ":65535", ":65536", ":99999", ":-1", ":x", ":", ": 80"]
    ),
)
paths = st.one_of(
    st.sampled_from(
        [
            "",
            "/",
            "/jira",
            "/jira/",
            "/jira//",
            "//",
            "/JIRA/",
            "/rest/api/2",
            "/secure/Dashboard.jspa",
        ]
    ),
    short_text.map(lambda value: "/" + value),
)
tails = st.sampled_from(["", "", "/", "///", "?", "#", "?a=b", "#frag", " ", "\t"])
built_urls = st.builds(
    lambda scheme, host, port, path, tail: f"{scheme}{host}{port}{path}{tail}",
    st.sampled_from(["https://", "https://", "http://", "HTTPS://", "ftp://", "//", "https:/", ""]),
    hosts,
    ports,
    paths,
    tails,
)
base_urls = st.one_of(built_urls, built_urls, text)

slugs = st.one_of(
    st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,30}\Z"),
    st.just("taken"),
    st.text(characters, max_size=30),
    nasty_text,
)
scope_names = st.one_of(
    st.sampled_from(list(scopes.SCOPES)),
    st.sampled_from(
        ["read", "write ", "READ WRITE", "offline_access", "read:jira-work", "", "ALL"]
    ),
    short_text,
)
scope_lists = st.one_of(
    st.lists(st.sampled_from(list(scopes.SCOPES)), min_size=1, max_size=3),
    st.lists(scope_names, max_size=4),
)
checkboxes = st.one_of(
    st.none(), st.sampled_from(["on", "off", "false", "0", "", "True"]), short_text
)
ca_bundles = st.one_of(
    st.just(""),
    st.just(PEM),
    st.sampled_from(
        [
            " \n",
            f"{BEGIN}\n{END}\n",
            f"{BEGIN}\nAAAA\n{END}\n",
            f"{BEGIN}\n!!!!\n{END}\n",
            PEM[: len(PEM) // 2],
            PEM.replace("A", "B", 3),
            PEM + PEM,
            PEM + "junk",
            "junk" + PEM,
            PEM.replace("\n", "\r\n"),
        ]
    ),
    st.builds(lambda junk: f"{BEGIN}\n{junk}\n{END}\n", st.text(characters, max_size=80)),
    text,
)
#: A distinctive prefix, so that finding the secret in a page can only mean it was echoed.
PREFIX = "S3CR3T-7f1d9c-"
secrets = st.builds(
    lambda junk, tail: PREFIX + junk + tail,
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30),
    st.sampled_from(["", " ", "\t"]),
)
junk_secrets = st.one_of(
    st.builds(lambda junk: PREFIX + junk, st.text(characters, max_size=30)),
    st.sampled_from(["", " ", "\t\n"]),
)

#: Values the form should accept, in the spellings staff paste.
valid = {
    "name": st.from_regex(r"\A[A-Za-z][A-Za-z0-9 ]{0,40}\Z"),
    "slug": st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,30}\Z"),
    "tenant": st.sampled_from(["", "acme"]),
    "base_url": st.builds(
        lambda scheme, host, port, path, tail: f"{scheme}{host}{port}{path}{tail}",
        st.sampled_from(["https://", "http://", "HTTPS://"]),
        st.sampled_from(GOOD_HOSTS),
        st.sampled_from(["", ":8443", ":8080"]),
        st.sampled_from(["", "/jira", "/Jira/", "/a/b//", "/ctx-path"]),
        st.sampled_from(["", "/", "///", " "]),
    ),
    "client_id": st.from_regex(r"\A[A-Za-z0-9-]{1,40}\Z"),
    "client_secret": secrets,
    "scope": st.lists(st.sampled_from(list(scopes.SCOPES)), min_size=1, max_size=3),
    "ca_bundle": st.sampled_from(["", PEM, PEM + "\n\n"]),
    "is_active": st.sampled_from([None, "on"]),
    "verify_tls": st.sampled_from([None, "on"]),
}
#: Anything at all, field by field.
junk = {
    "name": text,
    "slug": slugs,
    "tenant": short_text,
    "base_url": base_urls,
    "client_id": text,
    "client_secret": junk_secrets,
    "scope": scope_lists,
    "ca_bundle": ca_bundles,
    "is_active": checkboxes,
    "verify_tls": checkboxes,
}
#: A valid form with up to three fields replaced by junk: every field's validation gets
#: exercised alone, not only drowned among the errors of the others.
fields = st.builds(
    lambda good, bad: {**good, **bad},
    st.fixed_dictionaries(valid),
    st.lists(
        st.sampled_from([*sorted(junk), "base_url", "base_url"]), max_size=3, unique=True
    ).flatmap(lambda names: st.fixed_dictionaries({name: junk[name] for name in names})),
)


@pytest.fixture
def admin_client(user_factory: Callable[..., Any]) -> Client:
    client = Client()
    client.force_login(user_factory(username="root-fuzz", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def taken(link_factory: Callable[..., JiraLink]) -> JiraLink:
    return link_factory(slug="taken")


def shows_secret(page: bytes, secret: str) -> bool:
    text = page.decode("utf-8", errors="replace")
    return any(
        form and form in text
        for form in {secret, secret.strip(), html.escape(secret), html.escape(secret.strip())}
    )


VALID = {
    "name": "Acme Jira",
    "slug": "acme",
    "tenant": "",
    "base_url": "HTTPS://Jira.Example.com/jira///",
    "client_id": "client-1",
    "client_secret": "S3CR3T-7f1d9c-<&>\"' ",
    "scope": ["READ", "WRITE"],
    "ca_bundle": PEM,
    "is_active": "on",
}


@given(data=fields)
@example(data=VALID)
@example(data={**VALID, "scope": ["READ", "nope"]})
@example(data={**VALID, "slug": "taken"})
def test_add_link(admin_client: Client, taken: JiraLink, data: dict[str, Any]) -> None:
    admin_client.cookies.pop("messages", None)
    post = {key: value for key, value in data.items() if value is not None}
    with rolled_back():
        before = set(JiraLink.objects.values_list("pk", flat=True))
        response = admin_client.post(ADD_URL, post)
        event(f"HTTP {response.status_code}")
        assert response.status_code in {200, 302}, response.status_code
        secret = data["client_secret"]
        if secret.strip():
            assert not shows_secret(response.content, secret), "the typed secret is in the page"
        new = JiraLink.objects.exclude(pk__in=before)

        if response.status_code == 200:
            assert not new.exists()
            form = response.context["adminform"].form
            assert form.errors
            for name in form.errors:
                event(f"error in {name}")
            return

        assert response["Location"] == reverse("admin:jira_connect_jiralink_changelist")
        (link,) = new
        assert link.slug == data["slug"].strip()
        assert link.base_url == normalize_base_url(data["base_url"].strip())
        assert link.base_url == normalize_base_url(link.base_url)
        assert not link.base_url.endswith("/")
        validate_base_url(link.base_url)
        assert link.scope == scopes.normalize(" ".join(data["scope"]))
        assert link.scope == scopes.normalize(link.scope)
        assert link.client_secret == secret.strip()
        assert link.client_id == data["client_id"].strip()
        link.full_clean()
        change_page = admin_client.get(
            reverse("admin:jira_connect_jiralink_change", args=[link.pk])
        )
        assert change_page.status_code == 200
        assert not shows_secret(change_page.content, secret)
