"""A link's transport settings: which hosts it may reach, and how TLS is verified.

Every call the app makes to a link (token calls, identity checks, the
host's API calls through ``connection.session()``) takes its TLS settings
from here, so a link's own CA bundle and its "verify TLS" switch win over
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment, which requests
would otherwise let override a session's ``verify``.

A private CA is loaded into an ``ssl.SSLContext`` from the PEM stored on the
link, never written to a file: there is no path another user of the host
could plant a certificate at.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from requests.adapters import HTTPAdapter

from jira_connect import __version__
from jira_connect.exceptions import JiraConnectConfigurationError
from jira_connect.validators import validate_base_url

if TYPE_CHECKING:
    from requests import PreparedRequest, Response

    from jira_connect.models import JiraLink

#: Sent on every call to Jira: the token and identity calls, ``session()`` and ``asession()``.
USER_AGENT: Final = f"django-jira-connect/{__version__}"

#: What TLS verification a call uses: off, on with the system's CAs, or a link's own CAs.
Verify = bool | ssl.SSLContext


def ensure_allowed(link: JiraLink) -> None:
    """Check the base URL again at call time, not only when it was saved.

    ``ALLOW_HTTP`` and ``JIRA_HOSTS`` may have been tightened since: a stored
    link must not keep reaching a host the site no longer allows.
    """
    try:
        validate_base_url(link.base_url)
    except ValidationError as err:
        raise JiraConnectConfigurationError(
            f"The Jira link {link.slug!r} may not be used: {' '.join(err.messages)}"
        ) from None


def tls_verify(link: JiraLink) -> Verify:
    """How calls to ``link`` verify TLS: ``False``, ``True`` (system CAs) or the link's CAs."""
    if not link.verify_tls:
        return False
    pem = link.ca_bundle.strip()
    if not pem:
        return True
    return _context_for(pem)


@functools.lru_cache(maxsize=64)
def _context_for(pem: str) -> ssl.SSLContext:
    # One context per distinct bundle, shared by every call: contexts are safe to share
    # between threads once built, and building one parses every certificate.
    return ssl.create_default_context(cadata=pem)


class LinkTLSAdapter(HTTPAdapter):
    """An adapter that verifies TLS the link's way, whatever ``verify`` a call carries.

    requests fills a call's ``verify`` from ``REQUESTS_CA_BUNDLE`` or
    ``CURL_CA_BUNDLE`` when the environment sets them; mounted for the link's
    origin, this adapter puts the link's own choice back. With ``verify=True``
    it changes nothing, so a link without a CA of its own follows the
    environment as every requests call does.
    """

    def __init__(self, verify: Verify, **kwargs: Any) -> None:
        self._link_verify = verify
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(self._link_verify, ssl.SSLContext):
            kwargs["ssl_context"] = self._link_verify
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if isinstance(self._link_verify, ssl.SSLContext):
            proxy_kwargs["ssl_context"] = self._link_verify
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        if self._link_verify is False:
            verify = False
        elif isinstance(self._link_verify, ssl.SSLContext):
            verify = True  # the pool's context holds the link's CAs
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def origin_prefix(url: str) -> str:
    """The mount prefix requests matches for every URL on ``url``'s origin."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/"
