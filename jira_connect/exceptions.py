"""Every exception the app raises, under one root, ``JiraConnectError``.

Each one also inherits the Django or requests exception a caller would
naturally catch, so existing handlers (Django's 400 for a suspicious
operation, ``requests.HTTPError`` handlers) keep working. No message ever
contains a secret: messages are built from error codes and descriptions that
Jira sent, never from tokens or request bodies.
"""

from __future__ import annotations

from typing import Any

import requests
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation


class JiraConnectError(Exception):
    """Root of every error this app raises on purpose."""


class JiraConnectConfigurationError(JiraConnectError, ImproperlyConfigured):
    """The ``JIRA_CONNECT`` setting (or a link's configuration) is wrong.

    The message names the exact key to fix.
    """


class SecretDecryptionError(JiraConnectConfigurationError):
    """A stored secret cannot be decrypted with any of the configured keys.

    Almost always a key was removed from ``JIRA_CONNECT["ENCRYPTION_KEYS"]``
    before ``jira_connect_rotate_keys`` had re-encrypted everything.
    """


class InvalidOAuthState(JiraConnectError, SuspiciousOperation):
    """The ``state`` of a callback is missing, unknown, expired, reused or not this user's."""


class LinkAccessDenied(JiraConnectError, PermissionDenied):
    """The user (or the request's tenant) may not use this Jira link."""


class OAuthError(JiraConnectError):
    """Jira's token endpoint answered with an OAuth error (RFC 6749 §5.2).

    ``error`` is the OAuth error code (``invalid_grant``, ``invalid_client``,
    ...); ``description`` is Jira's ``error_description``, if any.
    """

    def __init__(self, error: str, description: str = "", status_code: int | None = None) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        message = error if not description else f"{error}: {description}"
        super().__init__(message)


class JiraUnavailable(JiraConnectError):
    """Jira could not be reached or answered something that is not a usable answer.

    Timeouts, refused connections, 5xx, HTML error pages from a proxy, malformed
    JSON. Transient: nothing stored was changed, and the same call may succeed
    later.
    """

    retryable = True

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class JiraTLSError(JiraUnavailable, requests.exceptions.SSLError):
    """Jira's TLS certificate could not be verified on a call through ``connection.session()``.

    Also a ``requests.exceptions.SSLError``, so existing handlers keep
    working; the message says what to configure on the link.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ReauthorizationRequired(JiraConnectError):
    """The user must connect again: Jira no longer accepts this connection's tokens.

    ``reconnect_url`` is the page where they can (the link's connect page),
    and ``connection`` the connection concerned, when there is one.
    """

    def __init__(self, message: str, *, reconnect_url: str = "", connection: Any = None) -> None:
        self.reconnect_url = reconnect_url
        self.connection = connection
        super().__init__(message)


class SyncSessionInAsyncContext(JiraConnectError, RuntimeError):
    """``connection.session()`` was called with an event loop running in this thread.

    Its calls would block the loop, and its refreshes use the ORM, which
    Django forbids there: ``await connection.asession()`` is the async API.
    """


class JiraAPIError(JiraConnectError, requests.HTTPError):
    """Jira answered a REST call with an error status.

    The ``response`` attribute (from ``requests.HTTPError``) holds the answer,
    and ``status_code`` its status.
    """

    @property
    def status_code(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class JiraAuthenticationFailed(JiraAPIError):
    """Jira did not accept the access token.

    Either a 401, or a 200 that Jira answered anonymously (``X-AUSERNAME:
    anonymous``), which Jira does on some endpoints when a credential is
    missing or bad: such an answer is never taken as the user's.
    """
