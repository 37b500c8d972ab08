from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jira_connect.exceptions import JiraConnectError, ReauthorizationRequired
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.tenancy import available_links

MY_ISSUES_JQL = "assignee = currentUser() ORDER BY updated DESC"


@dataclass
class LinkPanel:
    """What the home page shows for one link: the button, and the user's issues when connected."""

    link: JiraLink
    issues: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""


def home(request: HttpRequest) -> HttpResponse:
    """The demo's landing page: the user's organisation's Jira links and, once connected, their issues.

    This is how a host site uses the app: find the user's connection, call
    Jira through ``connection.session()``, and handle the one exception that
    means "reconnect".
    """
    panels: list[LinkPanel] = []
    if request.user.is_authenticated:
        connections = {
            c.link_id: c
            for c in JiraConnection.objects.filter(
                user_id=request.user.pk, status="active"
            ).select_related("link")
        }
        for link in available_links(request):
            panel = LinkPanel(link)
            connection = connections.get(link.pk)
            if connection is not None:
                panel.issues, panel.problem = my_issues(connection)
            panels.append(panel)
    return render(request, "example/home.html", {"panels": panels})


def spa(request: HttpRequest) -> HttpResponse:
    """The single-page app: one static page whose script uses only the JSON API."""
    return render(request, "example/spa.html")


def my_issues(connection: JiraConnection) -> tuple[list[dict[str, Any]], str]:
    try:
        response = connection.session().get(
            "rest/api/2/search",
            params={"jql": MY_ISSUES_JQL, "maxResults": "5", "fields": "summary,status,updated"},
        )
        response.raise_for_status()
        return response.json().get("issues", []), ""
    except ReauthorizationRequired:
        return [], "Jira no longer accepts this connection: reconnect to see your issues."
    except (JiraConnectError, requests.RequestException, ValueError):
        return [], "Jira could not be reached just now."
