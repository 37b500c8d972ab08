"""A database router that sends every model to the ``other`` database.

A site that routes the app elsewhere; anything that still reaches ``default``
finds no tables there, or opens a transaction on the wrong connection.
"""

from __future__ import annotations

from typing import Any


class EverythingToOther:
    """Decides by the model's app, as a real router does (so it fails on anything but a model)."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self._for(model)

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self._for(model)

    def _for(self, model: Any) -> str:
        assert model._meta.app_label, "a router is asked about a model"
        return "other"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True
