"""URL routes of the site: the landing page, the admin and the REST API."""

from django.contrib import admin
from django.urls import include, path

from skillmeat_site.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("artifacts.api.urls")),
]
