"""The example project's own tests: its pages, on the shipped testing kit."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "example_project" / "templates"


def example_site() -> dict[str, object]:
    """Settings that serve the example project's URLs and templates from the test settings."""
    engine = {**settings.TEMPLATES[0], "DIRS": [TEMPLATES_DIR]}
    return {"ROOT_URLCONF": "example_project.urls", "TEMPLATES": [engine]}
