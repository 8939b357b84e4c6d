"""JSON API v1 (flask-smorest): registered on the app by init_api()."""

from flask import Flask


def init_api(app: Flask) -> None:
    """Register the API blueprints and serve the OpenAPI document at /api/v1/openapi.json."""
