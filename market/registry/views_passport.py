"""Hazardous-waste passports: the form, a printable page and a PDF."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from market.core.errors import DomainError
from market.core.txn import commit
from market.registry import operations as ops
from market.registry.access import viewable_stream
from market.registry.forms import PassportForm
from market.registry.pdf import render_pdf
from market.registry.views import hazard_choices

bp = Blueprint("passport", __name__, url_prefix="/registry/streams")


@bp.route("/<int:stream_id>/passport", methods=["GET", "POST"])
@login_required
def edit_passport(stream_id: int):
    """Fill in or revise the hazardous-waste passport of a stream."""
    stream = viewable_stream(stream_id, edit=True)
    if not stream.hazardous:
        flash(_("Паспорт опасного отхода нужен только для опасных отходов."), "info")
        return redirect(url_for("registry.show_stream", stream_id=stream.id))
    form = PassportForm(obj=stream.passport)
    form.hazard_properties.choices = hazard_choices()
    if not form.is_submitted():
        form.hazard_properties.data = (stream.passport.hazard_properties if stream.passport
                                       else stream.hazard_properties)
    if form.validate_on_submit():
        try:
            ops.save_passport(stream, actor=current_user, composition=form.composition.data,
                              handling=form.handling.data, transport=form.transport.data,
                              emergency=form.emergency.data, compiled_by=form.compiled_by.data,
                              compiled_on=form.compiled_on.data,
                              hazard_properties=form.hazard_properties.data)
        except DomainError as exc:
            form.composition.errors.append(str(exc))
        else:
            commit()
            flash(_("Паспорт сохранён."), "success")
            return redirect(url_for("registry.show_stream", stream_id=stream.id))
    return render_template("registry/passport_form.html", form=form, stream=stream,
                           org=stream.organization)


def _passport_or_404(stream_id: int):
    stream = viewable_stream(stream_id)
    if stream.passport is None:
        flash(_("Паспорт ещё не заполнен."), "warning")
        return stream, None
    return stream, stream.passport


@bp.get("/<int:stream_id>/passport/print")
@login_required
def print_passport(stream_id: int):
    """The passport as a clean printable page."""
    stream, passport = _passport_or_404(stream_id)
    if passport is None:
        return redirect(url_for("registry.show_stream", stream_id=stream.id))
    return render_template("registry/passport_print.html", stream=stream, passport=passport,
                           org=stream.organization)


@bp.get("/<int:stream_id>/passport.pdf")
@login_required
def passport_pdf(stream_id: int):
    """The passport as PDF (fonts with Cyrillic and Kazakh letters are embedded)."""
    stream, passport = _passport_or_404(stream_id)
    if passport is None:
        return redirect(url_for("registry.show_stream", stream_id=stream.id))
    html = render_template("registry/passport_pdf.html", stream=stream, passport=passport,
                           org=stream.organization)
    pdf = render_pdf(html)
    filename = f"passport-{stream.code.code6}-{stream.id}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff"})
