"""Errors of the JSON API as ``application/problem+json`` documents (RFC 9457).

Every problem the API can answer is listed here once, with its status and
title; its ``type`` is a URN made from its code (an identifier for programs
to switch on, not a page to fetch). The documentation lists the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:django-jira-connect:problem:"


@dataclass(frozen=True)
class Problem:
    code: str
    status: int
    title: str | Promise

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.code


NOT_AUTHENTICATED = Problem("not-authenticated", 401, _("Authentication required"))
CSRF_FAILED = Problem("csrf-failed", 403, _("CSRF check failed"))
NOT_FOUND = Problem("not-found", 404, _("Not found"))
METHOD_NOT_ALLOWED = Problem("method-not-allowed", 405, _("Method not allowed"))
INVALID_BODY = Problem("invalid-body", 400, _("Invalid request body"))
INVALID_NEXT = Problem("invalid-next", 400, _("Unsafe next URL"))
LINK_MISCONFIGURED = Problem("link-misconfigured", 503, _("Jira link not set up correctly"))

ALL = (
    NOT_AUTHENTICATED,
    CSRF_FAILED,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    INVALID_BODY,
    INVALID_NEXT,
    LINK_MISCONFIGURED,
)


def response(problem: Problem, detail: str | Promise, **headers: str) -> JsonResponse:
    """The problem document, with its status and content type, and any extra ``headers``."""
    body: dict[str, Any] = {
        "type": problem.type,
        "title": str(problem.title),
        "status": problem.status,
        "detail": str(detail),
    }
    answer = JsonResponse(body, status=problem.status, content_type=CONTENT_TYPE)
    for name, value in headers.items():
        answer[name] = value
    return answer
