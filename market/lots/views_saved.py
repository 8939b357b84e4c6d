"""Saved searches with alerts, and the watch list."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("saved", __name__)
