"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from market import create_app

app = create_app()
