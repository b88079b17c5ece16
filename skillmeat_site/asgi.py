"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from skillmeat_site import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")
telemetry.configure()
application = get_asgi_application()
