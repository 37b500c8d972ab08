"""Django settings for the benchmarks: the test suite's, on the database in DATABASE_URL.

``python -m bench`` creates a PostgreSQL database for the run, points DATABASE_URL at it and
drops it at the end; the processes it starts (race workers, ``jira_connect_refresh``) inherit
both this module (DJANGO_SETTINGS_MODULE) and the URL.
"""

from __future__ import annotations

import os

import environ
from django.core.exceptions import ImproperlyConfigured

SECRET_KEY = "bench-only-not-secret"  # noqa: S105 (a throw-away database, never deployed)
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "bench.settings needs DATABASE_URL (python -m bench sets it to a database of its own)."
    )
DATABASES = {"default": environ.Env.db_url_config(os.environ["DATABASE_URL"])}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "jira_connect",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "bench.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

JIRA_CONNECT = {
    # A fixed key for a database that lives for one run: never use it anywhere else.
    "ENCRYPTION_KEYS": ["3wq9u1cH0l5T8lZcV0oVbJm0d9yq1hJmQ3yq2vL2l7A="],
    "ALLOW_HTTP": True,  # the simulated Jira is plain HTTP on loopback
}
SILENCED_SYSTEM_CHECKS = ["jira_connect.W003"]  # ALLOW_HTTP is on for the simulator
