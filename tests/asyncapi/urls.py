from django.urls import include, path

from example_project.demo import async_views

urlpatterns = [
    path("issues.json", async_views.my_issues),
    path("jira/", include("jira_connect.urls")),
]
