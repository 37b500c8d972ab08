"""A tenant resolver for the tests: the tenant comes from a request header."""

from django.http import HttpRequest


def from_header(request: HttpRequest) -> str | None:
    return request.headers.get("X-Tenant") or None
