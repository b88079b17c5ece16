"""The collection as a private Claude Code marketplace (DESIGN section 12):
``GET /api/v1/collections/{name}/marketplace.json`` lists the latest version of every plugin as
an ``archive`` source whose URL is that version's ``export.zip`` on this server and whose
``sha256`` is the digest of exactly the bytes served (an uncompressed zip: the same bytes for a
version on every host, its digest kept on the version once computed)."""

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from artifacts.api.serializers import ErrorSerializer
from artifacts.hashrefs import version_by_reference
from artifacts.models import Artifact, ArtifactType, Collection, Version
from blobstore import blob_store
from deploy.export import plugin_export

CHUNK = 1024 * 1024


class ArchiveSourceSerializer(serializers.Serializer):
    source = serializers.CharField(default="archive")
    url = serializers.URLField()
    sha256 = serializers.CharField()


class MarketplaceEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    version = serializers.CharField(help_text="The first 12 hex characters of the plugin's hash.")
    source = ArchiveSourceSerializer()


class OwnerSerializer(serializers.Serializer):
    name = serializers.CharField()


class MarketplaceSerializer(serializers.Serializer):
    name = serializers.CharField()
    owner = OwnerSerializer()
    plugins = MarketplaceEntrySerializer(many=True)


def export_bytes(version: Version) -> Path:
    """The served export of a plugin version, written to a temporary file (caller removes)."""
    store = blob_store()
    store.tmp.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=store.tmp))
    return plugin_export(
        version=version, output=folder / f"{version.artifact.name}.zip", compress=False
    )


def export_digest(version: Version) -> str:
    """The SHA-256 of the served export: computed once per version, then kept."""
    if version.export_sha256:
        return version.export_sha256
    path = export_bytes(version)
    try:
        digest = _sha256(path)
    finally:
        _remove(path)
    Version.objects.filter(pk=version.pk).update(export_sha256=digest)
    version.export_sha256 = digest
    return digest


def _sha256(path: Path) -> str:
    found = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            found.update(chunk)
    return found.hexdigest()


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.parent.rmdir()


class MarketplaceView(APIView):
    """Any signed-in user may read it: a teammate installing plugins needs no staff rights."""

    @extend_schema(
        summary="A collection as a Claude Code marketplace",
        operation_id="collections_marketplace",
        responses={200: MarketplaceSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, name: str) -> Response:
        collection = Collection.objects.filter(name=name).first()
        if collection is None:
            raise Http404("No such collection.")
        plugins = (
            Artifact.objects.filter(collection=collection, type=ArtifactType.PLUGIN)
            .exclude(latest_version=None)
            .select_related("latest_version", "latest_version__artifact")
            .order_by("name_key")
        )
        document = {
            "name": collection.name,
            "owner": {"name": settings.SKILLMEAT_MARKETPLACE_OWNER},
            "plugins": [_entry(request, plugin) for plugin in plugins],
        }
        return Response(MarketplaceSerializer(document).data)


def _entry(request: Request, plugin: Artifact) -> dict[str, Any]:
    version = plugin.latest_version
    assert version is not None
    url = reverse("artifact-export", args=[plugin.pk])
    return {
        "name": plugin.name,
        "description": str((version.metadata or {}).get("description") or ""),
        "version": version.content_hash[:12],
        "source": {
            "source": "archive",
            "url": request.build_absolute_uri(f"{url}?version={version.content_hash}"),
            "sha256": export_digest(version),
        },
    }


EXPORT_SCHEMA = extend_schema(
    summary="A plugin version as the zip its marketplace entry names",
    operation_id="artifacts_export_zip",
    parameters=[
        OpenApiParameter(
            "version", str, description="A content hash or 8+ hex (default: the latest)."
        )
    ],
    responses={
        (200, "application/zip"): OpenApiTypes.BINARY,
        400: ErrorSerializer,
        401: ErrorSerializer,
        404: ErrorSerializer,
    },
)


def export_response(request: Request, artifact: Artifact) -> FileResponse:
    if artifact.type != ArtifactType.PLUGIN:
        raise Http404("Only plugins are exported.")
    reference = request.query_params.get("version")
    version = (
        version_by_reference(Version.objects.filter(artifact=artifact), reference)
        if reference
        else artifact.latest_version
    )
    if version is None:
        raise Http404("No such version of this plugin.")
    path = export_bytes(version)
    digest = _sha256(path)
    if not version.export_sha256:
        Version.objects.filter(pk=version.pk).update(export_sha256=digest)
    stream = path.open("rb")
    _remove(path)  # the open stream keeps the bytes until the response is sent
    response = FileResponse(
        stream, as_attachment=True, filename=f"{artifact.name}.zip", content_type="application/zip"
    )
    response["ETag"] = f'"{digest}"'
    return response
