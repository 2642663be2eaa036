"""The HTTP service: REST API under ``/api/``, dashboard under ``/`` (docs/service.md)."""

from .app import create_app

__all__ = ["create_app"]
