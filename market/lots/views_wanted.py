"""Wanted posts: what processors and investors are looking for."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wanted", __name__)
