from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jira_connect.models import JiraConnection, JiraLink


def home(request: HttpRequest) -> HttpResponse:
    """The demo's landing page: who is logged in, and their Jira links."""
    context = {}
    if request.user.is_authenticated:
        context["links"] = JiraLink.objects.filter(is_active=True)
        context["connections"] = JiraConnection.objects.filter(user=request.user).select_related(
            "link"
        )
    return render(request, "example/home.html", context)
