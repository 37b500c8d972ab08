"""The OpenAPI document: valid OpenAPI 3.1, and every answer of the API conforms to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client, override_settings
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from jira_connect import openapi, problems
from tests.api.conftest import LINKS, SCHEMA, FrontEnd, connect_url, disconnect_url
from tests.conftest import jira_connect_settings

pytestmark = pytest.mark.django_db


def fetch_document() -> dict[str, Any]:
    response = Client().get(SCHEMA)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operation_for(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    raise AssertionError(f"{path} is not in the document")


def assert_conforms(document: dict[str, Any], method: str, path: str, response: Any) -> None:
    """The status is documented for the operation, and the body matches its content schema."""
    operation = operation_for(document, method, path)
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered undocumented {status}"
    documented = operation["responses"][status]
    if "content" not in documented:
        assert response.content == b""
        return
    content_type = response["Content-Type"].split(";")[0]
    assert content_type in documented["content"], (content_type, documented)
    schema = {**documented["content"][content_type]["schema"], "components": document["components"]}
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(response.json())


def test_the_document_is_valid_openapi_3_1() -> None:
    document = fetch_document()
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_object_is_a_named_component_with_its_required_fields() -> None:
    schemas = fetch_document()["components"]["schemas"]
    assert {"Link", "LinkList", "Connection", "JiraIdentity", "Problem", "AuthorizeUrl"} <= set(
        schemas
    )
    for name, schema in schemas.items():
        if schema.get("type") == "object" and name != "ConnectRequest":
            assert set(schema["required"]) == set(schema["properties"]), name
    assert schemas["ConnectionStatus"]["enum"] == ["active", "reauth_required", "revoked"]
    assert schemas["Connection"]["properties"]["last_refreshed"]["type"] == ["string", "null"]
    assert schemas["Problem"]["properties"]["type"]["enum"] == [p.type for p in problems.ALL]


def test_paths_follow_where_the_site_includes_the_urls() -> None:
    assert set(fetch_document()["paths"]) == {
        "/jira/api/links/",
        "/jira/api/links/{slug}/connect/",
        "/jira/api/links/{slug}/disconnect/",
        "/jira/api/openapi.json",
    }


def test_token_scheme_only_when_the_site_sets_api_authentication() -> None:
    assert "token" not in openapi.document()["components"]["securitySchemes"]
    custom = jira_connect_settings(API_AUTHENTICATION="tests.api.tokens.bearer_user")
    with override_settings(JIRA_CONNECT=custom):
        document = openapi.document()
    validate(document)
    assert "token" in document["components"]["securitySchemes"]
    assert {"token": []} in document["paths"]["/jira/api/links/"]["get"]["security"]


def test_every_answer_conforms(spa, user, link, link_factory, connection_factory, jira) -> None:
    """One request for each documented answer, each checked against the document."""
    document = fetch_document()
    link_factory(slug="globex", tenant="globex")
    anonymous = FrontEnd(Client(enforce_csrf_checks=True))
    exchanges: list[tuple[str, str, Any]] = [
        ("GET", LINKS, spa.links()),
        ("GET", LINKS, anonymous.links()),
        ("POST", connect_url("acme"), spa.connect("acme", {"next": "/spa/"})),
        ("POST", connect_url("acme"), spa.connect("acme", {"next": "https://evil.example/"})),
        ("POST", connect_url("acme"), spa.post(connect_url("acme"), raw=b"{")),
        ("POST", connect_url("acme"), anonymous.post(connect_url("acme"), {})),
        ("POST", connect_url("acme"), spa.client.post(connect_url("acme"))),
        ("POST", connect_url("globex"), spa.connect("globex")),
        ("POST", disconnect_url("globex"), spa.disconnect("globex")),
        ("POST", disconnect_url("acme"), spa.client.post(disconnect_url("acme"))),
        ("POST", disconnect_url("acme"), anonymous.disconnect("acme")),
    ]
    with override_settings(JIRA_CONNECT=jira_connect_settings(ALLOW_HTTP=False)):
        exchanges.append(("POST", connect_url("acme"), spa.connect("acme")))
    for status in ("active", "revoked", "reauth_required"):
        connection = connection_factory(user=user, link=link, status=status)
        exchanges.append(("GET", LINKS, spa.links()))
        exchanges.append(("POST", disconnect_url("acme"), spa.disconnect("acme")))
        assert not type(connection).objects.filter(pk=connection.pk).exists()
    exchanges.append(("GET", SCHEMA, Client().get(SCHEMA)))
    statuses = set()
    for method, path, response in exchanges:
        assert_conforms(document, method, path, response)
        statuses.add(response.status_code)
    assert statuses == {200, 204, 400, 401, 403, 404, 503}
