"""The REST API (DESIGN section 8). Views are thin: they validate input, call a selector or
the import service, and serialize what comes back."""

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from artifacts import selectors
from artifacts.api import examples, lifecycle, marketplace
from artifacts.api.filters import ArtifactFilter
from artifacts.api.serializers import (
    ArtifactSerializer,
    AssociationsQuerySerializer,
    AssociationsSerializer,
    CollectionSerializer,
    ErrorSerializer,
    VersionSerializer,
)
from artifacts.models import Artifact, Collection, Version, VersionFile
from artifacts.permissions import CAN_IMPORT_MESSAGE, can_import


class DocsView(SpectacularSwaggerView):
    """Swagger UI. A visitor without a session is sent to the login page and back, rather
    than shown a bare 401: the page then reads the schema with that session."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return super().get(request, *args, **kwargs)


class CanImport(permissions.BasePermission):
    """Importing needs staff or the add-artifact permission."""

    message = CAN_IMPORT_MESSAGE

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_import(request.user)


class CollectionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Collection.objects.order_by("name")
    serializer_class = CollectionSerializer


@extend_schema_view(
    list=extend_schema(summary="List artifacts"),
    retrieve=extend_schema(
        summary="One artifact", responses={200: ArtifactSerializer, 404: ErrorSerializer}
    ),
)
class ArtifactViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ArtifactSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ArtifactFilter
    permission_classes = [permissions.IsAuthenticated, lifecycle.CanDelete]

    def get_queryset(self) -> QuerySet:
        if self.action == "list":
            return selectors.artifact_keys()
        if self.action == "retrieve":
            return selectors.artifact_rows()
        return Artifact.objects.all()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Filter and paginate the bare artifacts (an index serves their order), then read
        # the page's rows with their collection and latest version.
        keys = self.filter_queryset(self.get_queryset()).values("pk")
        rows = selectors.artifact_rows_of(self.paginator.page_slice(keys, request))
        serializer = self.get_serializer(rows, many=True)
        return self.get_paginated_response(serializer.data)

    @lifecycle.DELETE_ARTIFACT_SCHEMA
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return lifecycle.delete_artifact(request, self.get_object())

    @marketplace.EXPORT_SCHEMA
    @action(
        detail=True,
        methods=["get"],
        url_path=r"export\.zip",
        url_name="export",
        filter_backends=[],
        pagination_class=None,
    )
    def export(self, request: Request, pk: str | None = None) -> HttpResponse:
        return marketplace.export_response(request, self.get_object())

    @lifecycle.DIFF_SCHEMA
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def diff(self, request: Request, pk: str | None = None) -> Response:
        return lifecycle.diff_response(request, self.get_object())

    @extend_schema(
        summary="The versions of an artifact, newest first", responses=VersionSerializer(many=True)
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        artifact = self.get_object()
        versions = (
            selectors.with_label_reuse(Version.objects.filter(artifact=artifact))
            .select_related("artifact")
            .prefetch_related(Prefetch("files", queryset=VersionFile.objects.order_by("path")))
            .order_by("-created_at", "content_hash")
        )
        page = self.paginate_queryset(versions)
        serializer = VersionSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        summary="Parents and children of an artifact, with pinned and current hashes",
        parameters=[AssociationsQuerySerializer],
        responses={200: AssociationsSerializer, 404: ErrorSerializer},
        examples=[examples.ASSOCIATIONS],
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def associations(self, request: Request, pk: str | None = None) -> Response:
        artifact = self.get_object()
        query = AssociationsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        plugin_version = None
        if options.get("plugin_version"):
            plugin_version = selectors.plugin_version_of(artifact, options["plugin_version"])
            if plugin_version is None:
                raise Http404("No such version of this plugin.")
        associations = selectors.artifact_associations(
            artifact,
            include_parents=options["include_parents"],
            include_children=options["include_children"],
            relationship_type=options.get("relationship_type"),
            plugin_version=plugin_version,
            window=selectors.Window(
                limit=options["limit"],
                parents_offset=options["parents_offset"],
                children_offset=options["children_offset"],
            ),
        )
        context = {"request": request, "artifact_type": artifact.type}
        document = AssociationsSerializer(associations, context=context)
        return Response(document.data)
