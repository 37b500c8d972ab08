from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jira_connect.tenancy import available_links


def home(request: HttpRequest) -> HttpResponse:
    """The demo's landing page: the Jira links of the user's organisation, with their buttons."""
    context = {"links": available_links(request) if request.user.is_authenticated else []}
    return render(request, "example/home.html", context)
