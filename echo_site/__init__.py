# The Celery app loads with Django (`celery -A echo_site`, and enqueueing from web processes).
from .celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
