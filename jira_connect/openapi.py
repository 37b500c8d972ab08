"""The OpenAPI 3.1 document of the JSON API, built in Python from the same names the views use.

Written for generators (``openapi-typescript`` and the like): every object is
a named component with its required fields, ``null`` is spelled as a type
(``["string", "null"]``) or a ``oneOf`` with ``{"type": "null"}``, and the
status and reconnect reasons are enums. Paths come from ``reverse()``, so the
document follows wherever the host site includes the URLs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

import jira_connect
from jira_connect import problems
from jira_connect.conf import DEFAULTS, app_settings
from jira_connect.models import ConnectionStatus
from jira_connect.overview import ReconnectReason

OPENAPI_VERSION = "3.1.0"
_SLUG = "slug-placeholder"
#: Django's ``slug`` path converter.
SLUG_PATTERN = "^[-a-zA-Z0-9_]+$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _object(properties: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def schemas() -> dict[str, Any]:
    return {
        "ConnectionStatus": {
            "type": "string",
            "enum": list(ConnectionStatus.values),
            "description": "active: usable. reauth_required: Jira no longer accepts it, or the "
            "link now asks for more. revoked: an administrator revoked it.",
        },
        "ReconnectReason": {
            "type": "string",
            "enum": list(ReconnectReason.ALL),
            "description": "revoked: an administrator revoked it. scope_changed: the link now "
            "asks for more access than was granted. rejected: Jira no longer accepts it.",
        },
        "JiraIdentity": _object(
            {
                "key": _string("Jira's stable user key, e.g. JIRAUSER10000."),
                "name": _string("The Jira username."),
                "display_name": _string("The user's full name in Jira."),
            },
            "Who the user is in Jira, as Jira said when they connected.",
        ),
        "Connection": _object(
            {
                "status": _ref("ConnectionStatus"),
                "needs_reconnect": {
                    "type": "boolean",
                    "description": "The user must connect again before the site can use Jira.",
                },
                "reconnect_reason": _nullable(_ref("ReconnectReason")),
                "reconnect_message": {
                    "type": ["string", "null"],
                    "description": "The reason in words, in the request's language.",
                },
                "jira": _ref("JiraIdentity"),
                "scope": _string("The scope Jira granted, e.g. WRITE."),
                "connected_since": _string("When the user first connected.", format="date-time"),
                "last_refreshed": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "When the tokens were last refreshed; null: never yet.",
                },
            },
            "The user's connection on a link. Tokens are never part of it.",
        ),
        "Link": _object(
            {
                "slug": _string("Identifies the link in URLs.", pattern=SLUG_PATTERN),
                "name": _string("Shown to users, e.g. Acme Jira."),
                "base_url": _string("Jira's address, with any context path.", format="uri"),
                "connect_url": _string(
                    "Where to POST to connect (api-connect).", format="uri-reference"
                ),
                "disconnect_url": _string(
                    "Where to POST to disconnect (api-disconnect).", format="uri-reference"
                ),
                "connection": _nullable(_ref("Connection")),
            },
            "A Jira link the user may use, and their connection on it (null: not connected).",
        ),
        "LinkList": _object(
            {
                "links": {"type": "array", "items": _ref("Link")},
                "csrf_token": {
                    "type": ["string", "null"],
                    "description": "Send as X-CSRFToken on POSTs made with the session cookie "
                    "(also set as the csrftoken cookie); null when not logged in by the session.",
                },
            },
            "Every link the user may use, in name order.",
        ),
        "ConnectRequest": {
            "type": "object",
            "description": "Optional body of api-connect.",
            "properties": {
                "next": _string(
                    "Where the browser returns after Jira, with the outcome in the query string "
                    "(jira_connect, jira_connect_link, jira_connect_error). A path or URL on "
                    "this site; default: the connections page.",
                ),
            },
            "additionalProperties": False,
        },
        "AuthorizeUrl": _object(
            {"authorize_url": _string("Send the browser here: Jira's consent page.", format="uri")},
            "The started authorisation.",
        ),
        "Problem": {
            "type": "object",
            "description": "An error, as RFC 9457 describes.",
            "properties": {
                "type": {
                    "type": "string",
                    "enum": [problem.type for problem in problems.ALL],
                    "description": "Identifies the kind of error; switch on this.",
                },
                "title": _string("A short summary of the kind of error."),
                "status": {"type": "integer", "description": "The HTTP status code."},
                "detail": _string("What went wrong on this request, for people."),
            },
            "required": ["type", "title", "status", "detail"],
        },
    }


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {problems.CONTENT_TYPE: {"schema": _ref("Problem")}},
    }


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


UNAUTHENTICATED = _problem("Not logged in (or no valid token).")
CSRF = _problem("The CSRF check failed: send the csrftoken cookie's value as X-CSRFToken.")
NOT_FOUND = _problem("No such link, or not one this user and tenant may use (the same answer).")
BAD_BODY = _problem("The body is not a JSON object of the documented shape, or next is unsafe.")


def paths() -> dict[str, Any]:
    slug_parameter = {
        "name": "slug",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": SLUG_PATTERN},
    }
    token: list[dict[str, list[str]]] = [{"token": []}] if token_authentication() else []
    session_and_csrf = [{"session": [], "csrf": []}, *token]
    return {
        reverse("jira_connect:api-links"): {
            "get": {
                "operationId": "listLinks",
                "summary": "The user's Jira links and connections",
                "security": [{"session": []}, *token],
                "responses": {
                    "200": _json("Every link the user may use.", "LinkList"),
                    "401": UNAUTHENTICATED,
                },
            }
        },
        _with_slug("jira_connect:api-connect"): {
            "post": {
                "operationId": "connectLink",
                "summary": "Start connecting: answers the URL of Jira's consent page",
                "security": session_and_csrf,
                "parameters": [slug_parameter],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("ConnectRequest")}},
                },
                "responses": {
                    "200": _json("Send the browser to authorize_url.", "AuthorizeUrl"),
                    "400": BAD_BODY,
                    "401": UNAUTHENTICATED,
                    "403": CSRF,
                    "404": NOT_FOUND,
                    "503": _problem("The link is not set up correctly (tell an administrator)."),
                },
            }
        },
        _with_slug("jira_connect:api-disconnect"): {
            "post": {
                "operationId": "disconnectLink",
                "summary": "Forget the user's connection on the link",
                "security": session_and_csrf,
                "parameters": [slug_parameter],
                "responses": {
                    "204": {"description": "Disconnected (or was not connected)."},
                    "400": _problem("The request body could not be read."),
                    "401": UNAUTHENTICATED,
                    "403": CSRF,
                    "404": NOT_FOUND,
                },
            }
        },
        reverse("jira_connect:api-schema"): {
            "get": {
                "operationId": "getSchema",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def _with_slug(name: str) -> str:
    return reverse(name, args=[_SLUG]).replace(_SLUG, "{slug}")


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "django-jira-connect",
            "version": jira_connect.__version__,
            "description": "Connect the logged-in user to their organisation's Jira Data "
            "Center: list links, start a connection, disconnect. Errors are "
            "application/problem+json (RFC 9457).",
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": settings.SESSION_COOKIE_NAME,
                    "description": "Django's session cookie (the user logged in to the site).",
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": _csrf_header(),
                    "description": "The csrftoken cookie's value; needed with the session cookie.",
                },
                **_token_scheme(),
            },
        },
    }


def token_authentication() -> bool:
    """Whether the site set ``API_AUTHENTICATION`` (presumably to accept tokens)."""
    default = DEFAULTS["API_AUTHENTICATION"]
    return bool(app_settings.raw.get("API_AUTHENTICATION", default) != default)


def _token_scheme() -> dict[str, Any]:
    if not token_authentication():
        return {}
    return {
        "token": {
            "type": "http",
            "scheme": "bearer",
            "description": "Whatever the site's JIRA_CONNECT['API_AUTHENTICATION'] accepts; "
            "no CSRF header is needed with it.",
        }
    }


def _csrf_header() -> str:
    """``CSRF_HEADER_NAME`` (a WSGI META key, ``HTTP_X_CSRFTOKEN``) as sent: ``X-CSRFToken``."""
    meta: str = settings.CSRF_HEADER_NAME
    name = meta.removeprefix("HTTP_").replace("_", "-")
    return "X-CSRFToken" if name.upper() == "X-CSRFTOKEN" else name.title()
