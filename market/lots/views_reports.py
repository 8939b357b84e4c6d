"""Offered, no taker: the evidence of mandatory offers that closed without a taker."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("offer_reports", __name__)
