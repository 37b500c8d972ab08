from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from example_project.demo import async_views, views

urlpatterns = [
    path("", views.home, name="home"),
    # The single-page front end on the JSON API (docs/headless.md).
    path("spa/", views.spa, name="spa"),
    path("issues.json", async_views.my_issues, name="my-issues"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("jira/", include("jira_connect.urls")),
]
# runserver serves static files itself; under uvicorn (scripts/demo --asgi) these do, in DEBUG.
urlpatterns += staticfiles_urlpatterns()
