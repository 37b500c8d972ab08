""" "Test this link": what works and what does not, in words staff can act on.

Used by the admin's button and action and by ``manage.py jira_connect_check``.
Each step says one thing: Jira reachable at the base URL (TLS, context path,
a proxy answering HTML instead of Jira), Jira's version and title, whether
Jira's own idea of its URL matches, and whether it accepts the client ID
and secret (a code exchange with a made-up code: Jira answers
``invalid_grant`` to a client it knows and ``invalid_client`` otherwise), and
whether its authorise endpoint refuses every user because its own base URL or
proxy is not set up for HTTPS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from jira_connect import oauth
from jira_connect.conf import app_settings
from jira_connect.exceptions import JiraAPIError, JiraConnectError, JiraUnavailable
from jira_connect.lifecycle import ensure_allowed, oauth_client, tls_verify
from jira_connect.models import JiraLink
from jira_connect.transport import session_hook
from jira_connect.validators import normalize_base_url

#: Used for the credentials probe when neither a request nor CALLBACK_URL gives one.
_PLACEHOLDER_REDIRECT_URI = "https://jira-connect.invalid/jira/callback/"


@dataclass(frozen=True)
class CheckStep:
    #: True: fine; False: broken; None: worth a look, not broken.
    ok: bool | None
    title: str
    detail: str = ""


@dataclass
class LinkReport:
    link: JiraLink
    steps: list[CheckStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok is not False for step in self.steps)

    def summary(self) -> str:
        broken = [step.title for step in self.steps if step.ok is False]
        if not broken:
            return _("%(link)s works.") % {"link": self.link.name}
        return _("%(link)s has a problem: %(problems)s") % {
            "link": self.link.name,
            "problems": "; ".join(broken),
        }

    def message(self) -> str:
        """One line for a message or the health page: each problem once, with its detail."""
        problems = [
            f"{step.title}: {step.detail}" if step.detail else step.title
            for step in self.steps
            if step.ok is False
        ]
        if not problems:
            return self.summary()
        return _("%(link)s has a problem: %(problems)s") % {
            "link": self.link.name,
            "problems": "; ".join(problems),
        }


def check_link(link: JiraLink, *, redirect_uri: str = "") -> LinkReport:
    """Run every step that can run; a step that cannot run says why."""
    report = LinkReport(link)
    steps = report.steps
    if not link.is_active:
        steps.append(
            CheckStep(
                None, _("The link is inactive"), _("Users cannot connect until it is activated.")
            )
        )
    try:
        ensure_allowed(link)
    except (
        JiraConnectError
    ) as err:  # e.g. http:// without ALLOW_HTTP: name the rule, not "unreachable"
        steps.append(CheckStep(False, _("This site may not connect to the base URL"), str(err)))
        return report
    try:
        info = oauth.fetch_server_info(
            link.base_url,
            verify=tls_verify(link),
            timeout=app_settings.HTTP_TIMEOUT,
            configure_session=session_hook(link),
        )
    except (JiraUnavailable, JiraAPIError, JiraConnectError) as err:
        steps.append(CheckStep(False, _("Jira is not reachable at the base URL"), str(err)))
        return report
    steps.append(
        CheckStep(
            True,
            _("Jira answers at the base URL"),
            _("%(title)s, Jira %(version)s (%(deployment)s)")
            % {
                "title": info.title or "Jira",
                "version": info.version,
                "deployment": info.deployment_type or "?",
            },
        )
    )
    if info.is_cloud:
        steps.append(
            CheckStep(
                False,
                _("This is Jira Cloud, not Data Center"),
                _(
                    "Jira Cloud uses Atlassian's own OAuth 2.0 (3LO); this app connects to Jira Data Center."
                ),
            )
        )
    if info.base_url and normalize_base_url(info.base_url) != normalize_base_url(link.base_url):
        steps.append(
            CheckStep(
                None,
                _("Jira calls itself by another address"),
                _(
                    "Jira's base URL setting is %(theirs)s, but this link uses %(ours)s. That is fine "
                    "behind a proxy; otherwise use Jira's address, with its context path."
                )
                % {"theirs": info.base_url, "ours": link.base_url},
            )
        )
    redirect_uri = redirect_uri or app_settings.CALLBACK_URL or _PLACEHOLDER_REDIRECT_URI
    steps.append(_check_credentials(link, redirect_uri))
    authorize_step = _check_authorize_endpoint(link, redirect_uri)
    if authorize_step is not None:
        steps.append(authorize_step)
    return report


def _check_credentials(link: JiraLink, redirect_uri: str) -> CheckStep:
    try:
        result = oauth.probe_client_credentials(oauth_client(link, redirect_uri))
    except JiraConnectError as err:
        return CheckStep(False, _("The client ID and secret could not be checked"), str(err))
    if result.accepted is True:
        return CheckStep(True, _("Jira accepts the client ID and secret"))
    if result.accepted is False:
        return CheckStep(
            False,
            _("Jira does not accept the client ID and secret"),
            _(
                "Copy them again from the incoming link in Jira (Administration > Applications > "
                "Application links); if the secret was regenerated there, paste the new one here."
            ),
        )
    return CheckStep(
        None,
        _("Jira's answer does not tell whether the client ID and secret are right"),
        f"{result.error}: {result.description}".strip(": "),
    )


def _check_authorize_endpoint(link: JiraLink, redirect_uri: str) -> CheckStep | None:
    """Jira's HTTPS/base-URL error on the authorise endpoint, which users would meet first.

    Other answers say nothing certain without a user (a made-up Redirect URL,
    a login page), so they add no step.
    """
    try:
        result = oauth.probe_authorize_endpoint(oauth_client(link, redirect_uri))
    except JiraConnectError:
        return None  # reachability is the first step's business
    if not result.https_misconfigured:
        return None
    return CheckStep(
        False,
        _("Jira refuses every authorisation: its base URL or proxy is not set up for HTTPS"),
        _(
            "Jira's authorisation page answers \"Please ensure that your server is using HTTPS "
            'and that your application base URL is configured appropriately" (HTTP 400), so no '
            "user can connect. Fix it in Jira: its Base URL (Administration > System > General "
            "configuration) must be its https:// address; behind a reverse proxy that "
            'terminates TLS, Tomcat\'s connector in server.xml must declare scheme="https", '
            'secure="true", and the proxy\'s proxyName and proxyPort.'
        ),
    )
