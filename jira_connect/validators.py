"""Validation and normalisation of a link's Jira base URL.

The base URL is typed by staff, so it is where paste mistakes and SSRF both
come in: the scheme, host, allow-list and shape are checked here, once, for
the admin, the command line and the Python API alike.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.utils.http import is_same_domain
from django.utils.translation import gettext as _

from jira_connect.conf import app_settings, key_name

# Paths that belong to a Jira page or API, not to its base URL: staff often
# paste the address of the page they were looking at.
_JIRA_PAGE_PATH = re.compile(
    r"/(secure|browse|rest|plugins|projects|issues|login\.jsp|servicedesk|jira/software)(/|$)",
    re.IGNORECASE,
)
#: Jira Cloud's host names: its OAuth is Atlassian's own (3LO), not a Data Center incoming link.
_CLOUD_DOMAINS = ("atlassian.net", "jira.com")
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$|^\[[0-9a-f:.]+\]$"
)


def normalize_base_url(value: str) -> str:
    """Lower-case scheme and host, drop trailing slashes, keep the context path.

    A value ``urlsplit`` cannot read is returned as typed: the validator
    reports it.
    """
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return value.strip()
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def validate_base_url(value: str) -> None:
    """Refuse anything that is not the base URL of a Jira we may talk to."""
    raw = value.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as err:
        raise ValidationError(
            _("Enter a valid URL, e.g. https://jira.example.com."), code="invalid"
        ) from err
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(
            _(
                "Enter the full address of your Jira, starting with https://, e.g. https://jira.example.com/jira."
            ),
            code="invalid",
        )
    if scheme == "http" and not app_settings.ALLOW_HTTP:
        raise ValidationError(
            _(
                "Jira's OAuth 2.0 provider needs HTTPS. Use an https:// address, or allow plain "
                "http for local development with %(setting)s = True."
            ),
            code="insecure",
            params={"setting": key_name("ALLOW_HTTP")},
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            _("Remove the user name and password from the address."), code="credentials"
        )
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ValidationError(
            _("Enter only Jira's base URL, without “?” or “#” parts."), code="query"
        )
    if port == 0:
        raise ValidationError(_("Enter a valid port."), code="invalid")
    host = parts.hostname.lower()
    if not _HOST.match(host) and not _HOST.match(f"[{host}]"):
        raise ValidationError(
            _("“%(host)s” is not a valid host name."), code="invalid", params={"host": host}
        )
    if any(host == domain or host.endswith("." + domain) for domain in _CLOUD_DOMAINS):
        raise ValidationError(
            _(
                "%(host)s is a Jira Cloud site. This app connects to Jira Data Center (or Server) "
                "through its incoming application links; for Jira Cloud use Atlassian's OAuth 2.0 "
                "(3LO) apps, registered in the Atlassian developer console."
            ),
            code="jira_cloud",
            params={"host": host},
        )
    match = _JIRA_PAGE_PATH.search(parts.path)
    if match:
        base = normalize_base_url(
            urlunsplit((scheme, parts.netloc, parts.path[: match.start()], "", ""))
        )
        raise ValidationError(
            _(
                "This looks like the address of a page in Jira, not Jira's base URL. "
                "Did you mean %(base)s?"
            ),
            code="page_url",
            params={"base": base},
        )
    allowed = app_settings.JIRA_HOSTS
    if allowed and not any(is_same_domain(host, pattern) for pattern in allowed):
        raise ValidationError(
            _("%(host)s is not one of the Jira hosts this site may connect to (%(setting)s)."),
            code="host_not_allowed",
            params={"host": host, "setting": key_name("JIRA_HOSTS")},
        )


def validate_ca_bundle(value: str) -> None:
    """PEM certificates of a private certificate authority, or nothing."""
    if not value.strip():
        return
    from cryptography import x509

    try:
        certificates = x509.load_pem_x509_certificates(value.strip().encode())
    except ValueError as err:
        raise ValidationError(
            _(
                "Paste PEM certificates: blocks from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----."
            ),
            code="ca_bundle",
        ) from err
    if not certificates:
        raise ValidationError(_("No certificate found."), code="ca_bundle")
