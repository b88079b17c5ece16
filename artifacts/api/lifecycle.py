"""The API of DESIGN section 13: deleting artifacts and versions, the diff between two versions
of an artifact, and the bytes of one file of a version."""

from typing import Any

from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from artifacts import selectors
from artifacts.api.serializers import ErrorSerializer, VersionSerializer, is_staff
from artifacts.contents import is_text, read_start, staff_only, version_diff
from artifacts.hashrefs import version_by_reference
from artifacts.models import Artifact, Version, VersionFile
from artifacts.permissions import CAN_DELETE_MESSAGE, can_delete
from blobstore import blob_store
from importer.removal import RemovalReport, remove_artifact, remove_version

DELETE_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class CanDelete(permissions.BasePermission):
    """Deleting needs staff or the delete-artifact permission; reading, a signed-in user."""

    message = CAN_DELETE_MESSAGE

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method != "DELETE" or can_delete(request.user)


class DeleteQuerySerializer(serializers.Serializer):
    force = serializers.BooleanField(
        required=False, default=False, help_text="Delete deployed versions too."
    )
    with_children = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also delete the children that no remaining plugin version pins.",
    )


class RemovalSerializer(serializers.Serializer):
    artifacts = serializers.ListField(child=serializers.CharField())
    versions = serializers.ListField(child=serializers.CharField())
    kept_children = serializers.ListField(child=serializers.CharField())
    latest = serializers.ListField(child=serializers.CharField())
    forgotten_deployments = serializers.ListField(child=serializers.CharField())
    stale_views = serializers.ListField(child=serializers.CharField())


class FileChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    status = serializers.ChoiceField(choices=["added", "removed", "changed"])
    old_mode = serializers.CharField(allow_null=True)
    new_mode = serializers.CharField(allow_null=True)
    binary = serializers.BooleanField()
    diff = serializers.CharField(allow_null=True, help_text="Unified diff; null when binary.")
    truncated = serializers.BooleanField()


# "from" is a Python keyword: the class is built from a dict to have a field of that name.
DiffSerializer = type(
    "DiffSerializer",
    (serializers.Serializer,),
    {
        "__module__": __name__,
        "__doc__": "The files that differ between two versions of one artifact.",
        "artifact_id": serializers.UUIDField(),
        "from": serializers.CharField(help_text="The older side's content hash."),
        "to": serializers.CharField(help_text="The newer side's content hash."),
        "files": FileChangeSerializer(many=True),
    },
)


def removal_response(report: RemovalReport) -> Response:
    return Response(RemovalSerializer(report.as_dict()).data, status=status.HTTP_200_OK)


def delete_artifact(request: Request, artifact: Artifact) -> Response:
    query = DeleteQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    report = remove_artifact(
        artifact,
        with_children=query.validated_data["with_children"],
        force=query.validated_data["force"],
    )
    return removal_response(report)


def diff_response(request: Request, artifact: Artifact) -> Response:
    query = request.query_params
    missing = [key for key in ("from", "to") if not query.get(key)]
    if missing:
        raise serializers.ValidationError(
            dict.fromkeys(missing, "This query parameter is required.")
        )
    versions = Version.objects.filter(artifact=artifact).select_related("artifact")
    found = [version_by_reference(versions, query[key]) for key in ("from", "to")]
    if None in found:
        raise Http404("No such version of this artifact.")
    old, new = found
    changes = version_diff(old, new, staff=is_staff({"request": request}))
    document = {
        "artifact_id": artifact.pk,
        "from": old.content_hash,
        "to": new.content_hash,
        "files": [c.as_dict() for c in changes],
    }
    return Response(DiffSerializer(document).data)


DIFF_SCHEMA = extend_schema(
    summary="Files added, removed and changed between two versions of an artifact",
    parameters=[
        OpenApiParameter("from", str, required=True, description="A content hash or 8+ hex."),
        OpenApiParameter("to", str, required=True, description="A content hash or 8+ hex."),
    ],
    responses={200: DiffSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
)

DELETE_ARTIFACT_SCHEMA = extend_schema(
    summary="Delete an artifact with its versions",
    parameters=[DeleteQuerySerializer],
    responses={
        200: RemovalSerializer,
        409: OpenApiResponse(ErrorSerializer, description="Pinned by a plugin, or deployed."),
        **DELETE_ERRORS,
    },
)


class VersionViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One version: its detail, its deletion, the bytes of its files."""

    serializer_class = VersionSerializer
    permission_classes = [permissions.IsAuthenticated, CanDelete]
    queryset = selectors.with_label_reuse(Version.objects.all()).select_related("artifact")
    queryset = queryset.prefetch_related("files")

    @extend_schema(summary="One version", responses={200: VersionSerializer, 404: ErrorSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Delete one version (the last one takes the artifact with it)",
        parameters=[DeleteQuerySerializer],
        responses={
            200: RemovalSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Pinned by a plugin, or deployed."),
            **DELETE_ERRORS,
        },
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = DeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = remove_version(self.get_object(), force=query.validated_data["force"])
        return removal_response(report)

    @extend_schema(
        summary="The bytes of one file of a version",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (200, "text/plain"): OpenApiTypes.STR,
            304: OpenApiResponse(description="Not modified (If-None-Match)."),
            401: ErrorSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Declares MCP servers: staff only."),
            404: ErrorSerializer,
        },
    )
    @action(detail=True, methods=["get"], url_path=r"files/(?P<path>.+?)", filter_backends=[])
    def files(self, request: Request, pk: str | None = None, path: str = "") -> HttpResponse:
        version = self.get_object()
        found = VersionFile.objects.filter(version=version, path=path).first()
        if found is None:
            raise Http404("No such file in this version.")
        if not is_staff({"request": request}) and staff_only(
            found, version.metadata or {}, version.artifact.type
        ):
            raise PermissionDenied("This file declares MCP servers: staff only.")
        return file_response(request, found)


def file_response(request: Request, version_file: VersionFile) -> HttpResponse:
    """The blob's bytes, with its hash as the ETag; text inline, anything else a download."""
    etag = quote_etag(version_file.blob_hash)
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
        response["ETag"] = etag
        return response
    text = is_text(read_start(version_file, 8192))
    name = version_file.path.rsplit("/", 1)[-1]
    stream = blob_store().stream(version_file.blob_hash)
    response = FileResponse(stream, as_attachment=not text, filename=name)
    response["Content-Length"] = str(version_file.size)
    response["Content-Type"] = "text/plain; charset=utf-8" if text else "application/octet-stream"
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response
