"""Mail backends: console (development), smtp (production), memory (tests)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger("qaldyq.mail")
SENT: list[EmailMessage] = []  # the memory backend's mailbox, for tests


def build_message(mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = mail.recipient
    msg["Subject"] = mail.subject
    msg.set_content(mail.body)
    return msg


def send(mail) -> None:
    """Send one OutboxEmail with the configured backend; raises on failure."""
    msg = build_message(mail)
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "memory":
        SENT.append(msg)
    elif backend == "console":
        log.warning("E-mail to %s: %s\n%s", mail.recipient, mail.subject, mail.body)
        print(f"--- e-mail to {mail.recipient}: {mail.subject}\n{mail.body}\n---", flush=True)
    elif backend == "smtp":
        cfg = current_app.config
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
    else:
        raise RuntimeError(f"unknown MAIL_BACKEND {backend!r}")
