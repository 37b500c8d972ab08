"""The async way to call Jira: an ``async def`` view through ``await connection.asession()``.

Served by an ASGI server (``scripts/demo --asgi`` runs uvicorn), each call to
Jira waits on the event loop instead of holding a thread, and a refresh of an
expired token is one refresh however many requests arrive at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from jira_connect.exceptions import JiraConnectError, ReauthorizationRequired
from jira_connect.models import JiraConnection

from .views import MY_ISSUES_JQL


async def my_issues(request: HttpRequest) -> HttpResponse:
    """The signed-in user's latest issues on each Jira they connected, as JSON."""
    # request.auser() on Django 5+; this form works on 4.2 too.
    user_id = await sync_to_async(lambda: request.user.pk)()
    if user_id is None:
        return JsonResponse({"error": "Sign in first."}, status=401)
    connections = [
        connection
        async for connection in JiraConnection.objects.filter(
            user_id=user_id, status=JiraConnection.Status.ACTIVE
        ).select_related("link")
    ]
    panels = await asyncio.gather(*(issues_of(connection) for connection in connections))
    return JsonResponse({"links": panels})


async def issues_of(connection: JiraConnection) -> dict[str, Any]:
    panel: dict[str, Any] = {"link": connection.link.slug, "issues": [], "problem": ""}
    try:
        async with await connection.asession() as jira:
            response = await jira.get(
                "rest/api/2/search",
                params={"jql": MY_ISSUES_JQL, "maxResults": "5", "fields": "summary,status"},
            )
        response.raise_for_status()
        panel["issues"] = [
            {"key": issue["key"], "summary": issue["fields"]["summary"]}
            for issue in response.json().get("issues", [])
        ]
    except ReauthorizationRequired:
        panel["problem"] = "Jira no longer accepts this connection: reconnect to see your issues."
    except (JiraConnectError, httpx.HTTPError, ValueError, KeyError):
        panel["problem"] = "Jira could not be reached just now."
    return panel
