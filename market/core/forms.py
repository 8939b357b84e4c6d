"""Form helpers shared by the domains."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import SelectChoice


def options(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def flash_form_errors(form) -> None:
    """Each error of a form posted from a page that redirects back, as a flashed message that
    names its field ("Причина: Обязательное поле.")."""
    from flask import flash

    for name, errors in form.errors.items():
        field = getattr(form, name, None)
        label = field.label.text if field is not None and name != "csrf_token" else ""
        for error in errors:
            flash(f"{label}: {error}" if label else str(error), "danger")
