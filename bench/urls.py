"""The app's URLs, so a ReauthorizationRequired can name its reconnect page."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("jira/", include("jira_connect.urls"))]
