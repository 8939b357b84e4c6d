"""Reference data in the UI: the waste classifier, Basel R/D operations, hazard properties."""

from flask import Blueprint

bp = Blueprint("refdata", __name__, url_prefix="/classifier")
