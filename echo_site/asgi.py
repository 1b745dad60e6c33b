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
# cyclic collector's sight, so that its full collections walk only what the sockets created.
# The collection thresholds stay CPython's own (700/10/10) unless GC_THRESHOLD_0/1/2 are set:
# the thresholds tuned up to 50,000/20/100 bought nothing measurable at the rates measured, and
# under connection churn (sockets opened and dropped by the thousand) they let the cyclic garbage
# every socket leaves behind pile up, 10-25 MB per round without settling (the churn scenario,
# docs/benchmarks.md).
gc.collect()
gc.freeze()
_thresholds = [os.environ.get(f"GC_THRESHOLD_{generation}") for generation in range(3)]
if any(_thresholds):
    default = gc.get_threshold()
    gc.set_threshold(*(int(value) if value else default[i] for i, value in enumerate(_thresholds)))
