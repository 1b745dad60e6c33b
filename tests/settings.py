"""The test suite's settings: development mode, asked for explicitly.

With no environment the service runs with DEBUG off (echo_site/settings.py). `./dev.sh test` sets
DEBUG=1; this makes a plain `pytest` do the same, and the processes the suite starts (daphne,
manage.py) inherit it. A test that needs production settings sets DEBUG=0 for its subprocess.
"""

import os

os.environ.setdefault("DEBUG", "1")

from echo_site.settings import *  # noqa: E402, F403

# Background tasks run in the test process at the commit that enqueues them
# (echo_site/background.py); the worker's own tests (tests/timed/test_worker_*.py) start
# real worker processes.
CELERY_TASK_ALWAYS_EAGER = True
