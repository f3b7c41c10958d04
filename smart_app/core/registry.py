"""The app's services, found by their type.

The composition root (`smart_app/services.py`) builds every service and registers it here;
a capability's routes look up the services they need by type. So routes never import the
composition root, which imports every capability, and the layers stay one-way.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, current_app

REGISTRY_KEY = "flip_registry"

T = TypeVar("T")


def register(app: Flask, *instances: Any) -> None:
    """Make each of `instances` the app's one service of its type."""
    registry: dict[type, Any] = app.extensions.setdefault(REGISTRY_KEY, {})
    registry.update({type(instance): instance for instance in instances})


def service(kind: type[T]) -> T:
    """The service of type `kind` of the app handling this request."""
    found = current_app.extensions[REGISTRY_KEY][kind]
    assert isinstance(found, kind)
    return found
