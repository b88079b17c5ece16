"""WSGI entry point."""

import gc
import os

from django.core.wsgi import get_wsgi_application

from skillmeat_site import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")
telemetry.configure()
application = get_wsgi_application()

# The loaded application's objects live as long as the process: moving them out of the
# collector's reach keeps its full passes short while large responses are being built.
gc.freeze()
