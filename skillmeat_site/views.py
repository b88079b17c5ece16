"""The site's own pages: a small landing page at ``/`` linking to the admin and the API."""

from django.views.generic import TemplateView


class HomeView(TemplateView):
    template_name = "skillmeat_site/home.html"
