"""HTML to PDF with WeasyPrint; fonts come from static/fonts (DejaVu, from its npm package)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported lazily: it loads Pango at import time

    base = Path(current_app.static_folder).as_uri() + "/"
    return HTML(string=html, base_url=base).write_pdf()
