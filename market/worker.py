"""Entry point of the job consumer: `huey_consumer market.worker.huey`."""

from market import create_app
from market.core import jobs
from market.extensions import huey

app = create_app()
jobs.use_app(app)

__all__ = ["app", "huey"]
