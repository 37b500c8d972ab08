"""The simulator's HTML: the consent page, Jira-style error pages and a reverse proxy's 502.

Plain HTML with inline CSS and no external assets, so it renders the same offline, in a headless
browser and in screenshots for the docs. Every interpolated value is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from urllib.parse import urlsplit

from jira_connect.testing._models import SimulatedUser
from jira_connect.testing._scopes import SCOPE_DESCRIPTIONS

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,
sans-serif;font-size:14px;color:#172b4d;background:#f4f5f7}
header{background:#0052cc;color:#fff;padding:10px 24px;font-size:16px;font-weight:600;
display:flex;align-items:center;gap:10px}
header .logo{display:inline-block;width:22px;height:22px;border-radius:4px;background:#fff;
color:#0052cc;text-align:center;line-height:22px;font-weight:700}
main{max-width:560px;margin:48px auto;background:#fff;border-radius:6px;padding:32px 40px;
box-shadow:0 1px 2px rgba(9,30,66,.25)}
h1{font-size:20px;font-weight:500;margin:0 0 20px}
label{display:block;font-weight:600;margin:0 0 6px;color:#5e6c84}
select{font:inherit;padding:6px 8px;border:2px solid #dfe1e6;border-radius:3px;width:100%}
ul.scopes{list-style:none;padding:0;margin:8px 0 20px}
ul.scopes li{padding:10px 12px;border:1px solid #dfe1e6;border-radius:3px;margin-bottom:8px}
ul.scopes strong{display:block;margin-bottom:2px}
p.note{color:#5e6c84}
.buttons{display:flex;justify-content:flex-end;gap:8px;margin-top:24px}
button{font:inherit;font-weight:500;padding:8px 16px;border:0;border-radius:3px;cursor:pointer;
background:rgba(9,30,66,.04);color:#42526e}
button.primary{background:#0052cc;color:#fff}
code{background:#f4f5f7;padding:1px 4px;border-radius:3px}
footer{text-align:center;color:#97a0af;font-size:12px;margin-bottom:32px}
"""


def _document(title: str, server_title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - {escape(server_title)}</title>"
        f"<style>{_STYLE}</style></head>\n<body>"
        f'<header><span class="logo">J</span>{escape(server_title)}</header>\n'
        f"<main>{body}</main>\n"
        "<footer>Jira Data Center simulator (django-jira-connect). Not a real Jira.</footer>"
        "</body></html>\n"
    )


def consent_page(
    *,
    server_title: str,
    action: str,
    client_name: str,
    redirect_uri: str,
    scopes: Sequence[str],
    users: Sequence[SimulatedUser],
    selected_user: str | None,
    hidden: Mapping[str, str],
) -> str:
    """The "Allow access" page: who is logged in, which app, what it may do, Allow or Deny."""
    options = "".join(
        f'<option value="{escape(user.name)}"{" selected" if user.name == selected_user else ""}>'
        f"{escape(user.display_name)} ({escape(user.name)})</option>"
        for user in users
    )
    scope_items = "".join(
        f"<li><strong>{escape(scope)}</strong>{escape(SCOPE_DESCRIPTIONS.get(scope, ''))}</li>"
        for scope in scopes
    )
    hidden_inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    target = urlsplit(redirect_uri)
    body = (
        f"<h1><strong>{escape(client_name)}</strong> wants to access your "
        f"{escape(server_title)} account</h1>\n"
        f'<form method="post" action="{escape(action)}">{hidden_inputs}\n'
        '<label for="user">Logged in as</label>\n'
        f'<select id="user" name="user">{options}</select>\n'
        f'<p>It will be able to:</p><ul class="scopes">{scope_items}</ul>\n'
        '<p class="note">After you choose, you will be sent back to '
        f"<code>{escape(target.scheme)}://{escape(target.netloc)}</code>. You can revoke access "
        "at any time in your profile under Authorized applications.</p>\n"
        '<div class="buttons">'
        '<button type="submit" id="deny" name="decision" value="deny">Deny</button>'
        '<button type="submit" id="approve" name="decision" value="approve" class="primary">'
        "Allow</button></div>\n</form>"
    )
    return _document("Allow access", server_title, body)


def error_page(server_title: str, heading: str, message: str) -> str:
    """A Jira page explaining why an authorization request was refused (never a redirect)."""
    body = f"<h1>{escape(heading)}</h1><p>{escape(message)}</p>"
    return _document(heading, server_title, body)


def bad_gateway_page() -> str:
    """What nginx in front of Jira answers when Jira is down."""
    return (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


def form_param_error_page() -> str:
    """Jira's 500 when the token endpoint gets a body that is not form-encoded."""
    return (
        "<html><head><title>500 Internal Server Error</title></head><body>"
        "<h1>HTTP Status 500 - Internal Server Error</h1>"
        "<p>java.lang.IllegalStateException: The @FormParam is utilized when the content of "
        "the request body is of the type application/x-www-form-urlencoded</p>"
        "</body></html>\n"
    )


_TOMCAT_DESCRIPTIONS = {
    429: 'The user has sent too many requests in a given amount of time ("rate limiting").',
    503: "The server is currently unable to handle the request due to a temporary overload or "
    "scheduled maintenance, which will likely be alleviated after some delay.",
}


def tomcat_status_page(status: int, reason: str) -> str:
    """Tomcat's own error report, which Jira's 429 (and a 503 in maintenance) answers with."""
    title = f"HTTP Status {status} &ndash; {escape(reason)}"
    description = escape(_TOMCAT_DESCRIPTIONS.get(status, reason))
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title><style type="text/css">'
        "body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;"
        "background-color:#525D76;} h1 {font-size:22px;} p {font-size:12px;} "
        ".line {height:1px;background-color:#525D76;border:none;}</style></head><body>"
        f'<h1>{title}</h1><hr class="line" /><p><b>Type</b> Status Report</p>'
        f'<p><b>Description</b> {description}</p><hr class="line" />'
        "<h3>Apache Tomcat/9.0.98</h3></body></html>"
    )


#: What Jira's authorise endpoint says when its own base URL or proxy is misconfigured.
HTTPS_BASE_URL_MESSAGE = (
    "Please ensure that your server is using HTTPS and that your application base URL is "
    "configured appropriately"
)
