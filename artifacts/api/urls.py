"""Routes of the REST API under /api/v1/; every path works with or without the slash."""

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from artifacts.api.imports import ImportRecordViewSet
from artifacts.api.lifecycle import VersionViewSet
from artifacts.api.marketplace import MarketplaceView
from artifacts.api.updates import UpdatesView
from artifacts.api.views import ArtifactViewSet, CollectionViewSet, DocsView
from deploy.api import DeploymentViewSet, ProjectStatusView


class OptionalSlashRouter(DefaultRouter):
    """Routes that match with and without the trailing slash."""

    include_format_suffixes = False

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("collections", CollectionViewSet, basename="collection")
router.register("artifacts", ArtifactViewSet, basename="artifact")
router.register("versions", VersionViewSet, basename="version")
router.register("imports", ImportRecordViewSet, basename="import-record")
router.register("deployments", DeploymentViewSet, basename="deployment")

urlpatterns = [
    re_path(
        r"^collections/(?P<name>[^/]+)/marketplace\.json/?$",
        MarketplaceView.as_view(),
        name="collection-marketplace",
    ),
    re_path(r"^updates/?$", UpdatesView.as_view(), name="updates"),
    re_path(r"^project-status/?$", ProjectStatusView.as_view(), name="project-status"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", DocsView.as_view(url_name="schema"), name="docs"),
    *router.urls,
]
