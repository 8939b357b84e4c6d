"""The TMO cadastre: formations, assays, the map."""

from flask import Blueprint

bp = Blueprint("cadastre", __name__, url_prefix="/cadastre")
