"""Processing licences of an organisation."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("licences", __name__)
