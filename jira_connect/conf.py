"""The app's settings: one dict, ``settings.JIRA_CONNECT``, read live.

Every access goes back to ``django.conf.settings``, so ``override_settings``
works in tests and nothing is snapshotted at import time. Each property
validates its value and raises ``JiraConnectConfigurationError`` naming the
exact key, so a typo surfaces as a clear message (and as a system check
error, see ``checks.py``) instead of a confusing failure deep in a request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from jira_connect.exceptions import JiraConnectConfigurationError

SETTING_NAME = "JIRA_CONNECT"

DEFAULTS: Mapping[str, Any] = {
    "ENCRYPTION_KEYS": (),
    "TENANT_RESOLVER": "jira_connect.tenancy.no_tenant",
    "LINK_ACCESS_POLICY": "jira_connect.tenancy.allow_active_users",
    "CALLBACK_URL": "",
    "HTTP_TIMEOUT": 10.0,
    "REFRESH_LEEWAY": 60,
    "STATE_TTL": 600,
    "ALLOW_HTTP": False,
    "JIRA_HOSTS": (),
    "REFRESH_RETRY_AFTER": 30,
    "RATE_LIMIT_RETRIES": 3,
    "RATE_LIMIT_MAX_WAIT": 60,
    "API_AUTHENTICATION": "jira_connect.api.session_user",
}

Timeout = float | tuple[float, float]


def key_name(key: str) -> str:
    """How a key is named in messages: ``JIRA_CONNECT["HTTP_TIMEOUT"]``."""
    return f'{SETTING_NAME}["{key}"]'


class JiraConnectSettings:
    """Typed, validated, live view of ``settings.JIRA_CONNECT``."""

    @property
    def raw(self) -> Mapping[str, Any]:
        value = getattr(django_settings, SETTING_NAME, None)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise JiraConnectConfigurationError(
                f"{SETTING_NAME} must be a dict, not {type(value).__name__}."
            )
        return value

    def unknown_keys(self) -> list[str]:
        return sorted(key for key in self.raw if key not in DEFAULTS)

    def _get(self, key: str) -> Any:
        return self.raw.get(key, DEFAULTS[key])

    def _fail(self, key: str, problem: str) -> JiraConnectConfigurationError:
        return JiraConnectConfigurationError(f"{key_name(key)} {problem}")

    @property
    def ENCRYPTION_KEYS(self) -> list[bytes]:
        """Fernet keys protecting secrets at rest: the first encrypts, all decrypt.

        Generate one with ``python -c "from cryptography.fernet import Fernet;
        print(Fernet.generate_key().decode())"``. To rotate, put the new key
        first, keep the old ones after it, run ``manage.py
        jira_connect_rotate_keys``, then drop the old keys. Empty means: derive a
        key from ``SECRET_KEY``, which is allowed only with ``DEBUG = True``.
        """
        key = "ENCRYPTION_KEYS"
        value = self._get(key)
        if isinstance(value, (str, bytes)):
            raise self._fail(key, "must be a list of Fernet keys, not a single string.")
        if not isinstance(value, Sequence):
            raise self._fail(key, f"must be a list of Fernet keys, not {type(value).__name__}.")
        keys: list[bytes] = []
        for position, item in enumerate(value):
            encoded = item.encode() if isinstance(item, str) else item
            if not isinstance(encoded, bytes) or not _is_fernet_key(encoded):
                raise self._fail(
                    key,
                    f"item {position} is not a valid Fernet key (32 url-safe "
                    "base64-encoded bytes, as Fernet.generate_key() makes).",
                )
            keys.append(encoded)
        return keys

    @property
    def TENANT_RESOLVER(self) -> Callable[[Any], str | None]:
        """Dotted path to ``resolver(request) -> tenant key or None``.

        The default returns ``None``: only links with a blank tenant are offered.
        """
        return self._callable("TENANT_RESOLVER")

    @property
    def LINK_ACCESS_POLICY(self) -> Callable[[Any, Any], bool]:
        """Dotted path to ``policy(user, link) -> bool``.

        The default allows any authenticated, active user.
        """
        return self._callable("LINK_ACCESS_POLICY")

    @property
    def API_AUTHENTICATION(self) -> Callable[[Any], Any]:
        """Dotted path to ``authenticate(request) -> user or None`` for the JSON API.

        The default returns the user of the session. Sites whose front end
        sends a token instead name a callable that checks it (DRF's or
        allauth headless's authentication, for example).
        """
        return self._callable("API_AUTHENTICATION")

    @property
    def CALLBACK_URL(self) -> str:
        """Absolute Redirect URL to register in Jira, for sites behind a proxy.

        Empty (the default) builds it from the request and the ``callback`` URL.
        """
        key = "CALLBACK_URL"
        value = self._get(key)
        if not isinstance(value, str):
            raise self._fail(key, "must be a string (an absolute URL) or empty.")
        if value and not value.startswith(("https://", "http://")):
            raise self._fail(
                key, "must be an absolute http(s) URL, e.g. https://app.example.com/jira/callback/."
            )
        return value

    @property
    def HTTP_TIMEOUT(self) -> Timeout:
        """Seconds every call to Jira may take, or a ``(connect, read)`` pair."""
        key = "HTTP_TIMEOUT"
        value = self._get(key)
        if isinstance(value, (list, tuple)):
            if len(value) != 2 or not all(_is_positive_number(part) for part in value):
                raise self._fail(
                    key, "must be a positive number of seconds or a (connect, read) pair of them."
                )
            return (float(value[0]), float(value[1]))
        if not _is_positive_number(value):
            raise self._fail(
                key, "must be a positive number of seconds or a (connect, read) pair of them."
            )
        return float(value)

    @property
    def REFRESH_LEEWAY(self) -> int:
        """Seconds before expiry at which an access token is refreshed before use."""
        return self._non_negative_int("REFRESH_LEEWAY")

    @property
    def REFRESH_RETRY_AFTER(self) -> int:
        """Seconds to wait after a failed refresh (Jira down, 5xx) before asking Jira again.

        Callers arriving meanwhile get ``JiraUnavailable`` at once, so a burst of
        requests does not hammer a Jira that is struggling. 0 turns it off.
        """
        return self._non_negative_int("REFRESH_RETRY_AFTER")

    @property
    def STATE_TTL(self) -> int:
        """Seconds a started authorisation stays valid (the user's time on Jira's consent page)."""
        value = self._non_negative_int("STATE_TTL")
        if value == 0:
            raise self._fail("STATE_TTL", "must be at least 1 second.")
        return value

    @property
    def ALLOW_HTTP(self) -> bool:
        """Allow plain ``http://`` Jira base URLs (simulator and local development only)."""
        key = "ALLOW_HTTP"
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "must be True or False.")
        return value

    @property
    def JIRA_HOSTS(self) -> list[str]:
        """Host names a link's base URL may point at; empty allows any.

        Entries match like ``ALLOWED_HOSTS``: ``jira.example.com`` exactly,
        ``.example.com`` for the domain and every subdomain.
        """
        key = "JIRA_HOSTS"
        value = self._get(key)
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise self._fail(key, "must be a list of host names.")
        hosts: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item.strip(". "):
                raise self._fail(key, f"contains {item!r}, which is not a host name.")
            hosts.append(item.strip().lower())
        return hosts

    @property
    def RATE_LIMIT_RETRIES(self) -> int:
        """Retries of an idempotent call Jira answered 429, or 503 with ``Retry-After``.

        0 turns them off: Jira's answer goes straight back to the caller.
        """
        key = "RATE_LIMIT_RETRIES"
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "must be a whole number of retries, 0 (off) or more.")
        return value

    @property
    def RATE_LIMIT_MAX_WAIT(self) -> float:
        """The longest single wait before a retry, in seconds.

        A longer ``Retry-After`` returns Jira's answer at once rather than
        holding the caller (a web request, a worker) that long.
        """
        key = "RATE_LIMIT_MAX_WAIT"
        value = self._get(key)
        if not _is_positive_number(value) or value < 1:
            raise self._fail(
                key,
                "must be a number of seconds, at least 1 (every wait is at least 1 second; "
                'set JIRA_CONNECT["RATE_LIMIT_RETRIES"] to 0 to turn retries off).',
            )
        return float(value)

    def _callable(self, key: str) -> Callable[..., Any]:
        value = self._get(key)
        if callable(value):
            return value  # type: ignore[no-any-return]
        if not isinstance(value, str) or not value:
            raise self._fail(key, "must be a dotted path to a callable.")
        try:
            target = import_string(value)
        except ImportError as err:
            raise self._fail(key, f"is {value!r}, which cannot be imported: {err}") from err
        if not callable(target):
            raise self._fail(key, f"is {value!r}, which is not callable.")
        return target  # type: ignore[no-any-return]

    def _non_negative_int(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "must be a whole number of seconds, 0 or more.")
        return value


def _is_positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _is_fernet_key(value: bytes) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value)) == 32
    except (binascii.Error, ValueError):
        return False


app_settings = JiraConnectSettings()
