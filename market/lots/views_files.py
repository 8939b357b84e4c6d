"""Documents and photos of lots: upload, list, serve, remove."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("lot_files", __name__)
