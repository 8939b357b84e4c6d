"""JSON API v1 (flask-smorest) over the same operations as the web pages."""
