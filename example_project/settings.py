"""Settings of the example project, read from the environment (and an optional .env).

This is the only place in the repository that uses django-environ: the app
itself reads nothing but ``django.conf.settings``. Every value has a default
that runs the demo on SQLite; see .env.example for what a deployment sets.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)
# The default only serves local development; any deployment sets its own.
SECRET_KEY = env.str("SECRET_KEY", default="example-project-insecure-development-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "jira_connect",
    "example_project.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Django's debug page would show secrets held by a failing call; this keeps them hidden.
DEFAULT_EXCEPTION_REPORTER_FILTER = "jira_connect.debug.SensitiveExceptionReporterFilter"

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "static")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

JIRA_CONNECT = {
    # Empty under DEBUG: a key derived from SECRET_KEY serves (system check W001).
    "ENCRYPTION_KEYS": env.list("JIRA_CONNECT_ENCRYPTION_KEYS", default=[]),
    # The demo's simulated Jira servers speak plain http on loopback.
    "ALLOW_HTTP": env.bool("JIRA_CONNECT_ALLOW_HTTP", default=DEBUG),
    "CALLBACK_URL": env.str("JIRA_CONNECT_CALLBACK_URL", default=""),
    "REFRESH_LEEWAY": env.int("JIRA_CONNECT_REFRESH_LEEWAY", default=60),
    # Demo tenants are Django groups; see example_project/demo/tenancy.py.
    "TENANT_RESOLVER": "example_project.demo.tenancy.tenant_of_user",
}

if DEBUG:
    SILENCED_SYSTEM_CHECKS = ["jira_connect.W001"]
else:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Off only for a local, plain-http production-like run (the load test).
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
