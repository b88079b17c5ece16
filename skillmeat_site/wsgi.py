"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

from skillmeat_site import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")
telemetry.configure()
application = get_wsgi_application()
