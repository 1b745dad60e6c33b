"""ASGI entry point: HTTP through Django, websockets through Channels."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_site.settings")

# Set up Django (apps, settings) before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from chat.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application,
    }
)

# Start-up is done: move everything loaded so far (Django, the apps, the URL conf) out of the
# cyclic collector's sight, and collect the young generations less often. With the defaults a
# busy live process pauses for a full collection every few seconds and p99 latency follows
# (docs/benchmarks.md).
gc.collect()
gc.freeze()
gc.set_threshold(
    int(os.environ.get("GC_THRESHOLD_0", "50000")),
    int(os.environ.get("GC_THRESHOLD_1", "20")),
    int(os.environ.get("GC_THRESHOLD_2", "100")),
)
