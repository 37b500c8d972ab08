from django.urls import path, re_path

from jira_connect import api, views

app_name = "jira_connect"

urlpatterns = [
    path("", views.ConnectionsView.as_view(), name="connections"),
    path("callback/", views.CallbackView.as_view(), name="callback"),
    path("<slug:slug>/connect/", views.ConnectView.as_view(), name="connect"),
    path("<slug:slug>/disconnect/", views.DisconnectView.as_view(), name="disconnect"),
    # The JSON API for single-page front ends (docs/headless.md).
    path("api/links/", api.LinksView.as_view(), name="api-links"),
    path("api/links/<slug:slug>/connect/", api.ConnectView.as_view(), name="api-connect"),
    path("api/links/<slug:slug>/disconnect/", api.DisconnectView.as_view(), name="api-disconnect"),
    path("api/openapi.json", api.SchemaView.as_view(), name="api-schema"),
    re_path(r"^api/", api.NotFoundView.as_view()),
]
