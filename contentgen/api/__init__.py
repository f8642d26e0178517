"""The HTTP API (FastAPI): `app.create_app`; one module per resource, each with `register(app, api)`."""

from contentgen.api.app import create_app

__all__ = ["create_app"]
