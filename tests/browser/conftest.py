"""Browser tests: headless Debian Chromium against a live server with CSRF on, as in production."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from market import create_app
from market.extensions import db
from tests.conftest import create_database, make_config, prepare_database

HERE = Path(__file__).resolve().parent
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a browser (-m "not browser" skips them)."""
    for item in items:
        if Path(item.path).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (``playwright install`` cannot download here), headless, no phoning home."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A desktop window (expanded navbar) and a Russian-speaking browser, as most visitors have."""
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 900},
        "locale": "ru-RU",
        "timezone_id": "Asia/Almaty",
    }


@pytest.fixture(scope="session")
def base_url(pytestconfig):
    """Same as pytest-playwright's fallback ``base_url``, which pytest 9.2 warns about.

    pytest-playwright 0.10 (without pytest-base-url) defines it as an instance method of a
    plugin object; pytest >= 9.2 emits PytestRemovedIn10Warning for that, an error under our
    ``filterwarnings = error``. Defining it here means the plugin's version never runs.
    """
    return pytestconfig.getoption("--base-url", None) or pytestconfig.getini("base_url") or None


class LiveServer(str):
    """The base URL, carrying the served app (to run jobs or travel in time beside it)."""

    def __new__(cls, url: str, app):
        obj = super().__new__(cls, url)
        obj.app = app
        return obj


@pytest.fixture(scope="module")
def live_server():
    """The app on a random local port, own fresh database with demo data; yields the base URL."""
    url, drop = create_database("live")
    try:
        app = create_app(make_config(url, WTF_CSRF_ENABLED=True))
        try:
            prepare_database(app, demo=True)
            server = make_server("127.0.0.1", 0, app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
            thread.start()
            try:
                yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
            finally:
                server.shutdown()
                thread.join(timeout=10)
                server.server_close()
        finally:
            with app.app_context():
                db.engine.dispose()
    finally:
        drop()  # also when the app fails to start, so no database or connection is left behind


@pytest.fixture(autouse=True)
def _reset_limiter(live_server):
    """Overrides the root autouse fixture: no need for the shared test app and its database here."""
    from market.extensions import limiter

    limiter.reset()
    yield


class Screenshots:
    """Full-page screenshots numbered in the order taken: <root>/<lang>/NN-step-name.png."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def __call__(self, page, step: str) -> Path:
        self.count += 1
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screenshots():
    """Call with the language: ``shot = screenshots("kk"); shot(page, "home")``."""
    return lambda lang: Screenshots(SCREENSHOTS / lang)
