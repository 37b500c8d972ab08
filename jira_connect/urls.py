from django.urls import path

from jira_connect import views

app_name = "jira_connect"

urlpatterns = [
    path("", views.ConnectionsView.as_view(), name="connections"),
    path("callback/", views.CallbackView.as_view(), name="callback"),
    path("<slug:slug>/connect/", views.ConnectView.as_view(), name="connect"),
    path("<slug:slug>/disconnect/", views.DisconnectView.as_view(), name="disconnect"),
]
