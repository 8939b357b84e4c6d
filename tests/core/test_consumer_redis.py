"""A real Huey consumer on Redis sends what the web process committed to the outbox."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from market import create_app
from market.core.models import OutboxEmail
from market.core.notify import queue_email
from market.core.txn import commit
from market.extensions import db, huey
from tests.conftest import create_database, make_config, prepare_database

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (make test-pg)"),
]


@pytest.fixture
def committed_app():
    url, drop = create_database("huey")
    app = create_app(make_config(url, HUEY_IMMEDIATE=False))
    prepare_database(app)
    yield app, url
    huey.immediate = True
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_consumer_delivers_outbox_mail(committed_app, tmp_path):
    app, url = committed_app
    huey.flush()
    env = {**os.environ, "DATABASE_URL": url, "QALDYQ_ENV": "development",
           "MAIL_BACKEND": "console", "QALDYQ_INSTANCE": str(tmp_path)}
    consumer = subprocess.Popen(
        [str(Path(sys.executable).parent / "huey_consumer"), "market.worker.huey",
         "--workers", "1", "--delay", "0.1", "--max-delay", "0.5", "--no-periodic"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with app.app_context(), app.test_request_context():
            assert not huey.immediate
            mail = queue_email("consumer@example.kz", "Проверка очереди", "email/confirm.txt",
                               user=type("U", (), {"full_name": "Тест"})(), link="http://x/")
            commit()  # enqueues the delivery task on Redis
            mail_id = mail.id
            deadline = time.monotonic() + 60
            status = None
            while time.monotonic() < deadline:
                db.session.expire_all()
                status = db.session.get(OutboxEmail, mail_id).status
                if status == "sent":
                    break
                time.sleep(0.2)
            db.session.rollback()
        assert status == "sent", "the consumer did not send the message within 60 s"
    finally:
        consumer.terminate()
        output = consumer.communicate(timeout=20)[0]
    assert "consumer@example.kz" in output  # the console backend printed it in the consumer
