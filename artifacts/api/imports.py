"""``POST /api/v1/imports/`` and the import history: an upload or a remote source is handed to
the task queue; the answer is the report at once (201, 200 for a dry run, 400 when nothing
imported) when the backend ran it in the request, else 202 with the record's ``Location``.
``GET /api/v1/imports/`` and ``/imports/{id}/`` show each record's state and result."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from artifacts.api import examples
from artifacts.api.errors import error_body
from artifacts.api.serializers import (
    ErrorItemSerializer,
    ErrorSerializer,
    ImportReportSerializer,
    ImportRequestSerializer,
    OriginSerializer,
    is_staff,
)
from artifacts.api.uploads import (
    LimitedUploadHandler,
    import_remote_checked,
    import_upload,
    queue_remote,
    queue_upload,
)
from artifacts.api.views import CanImport
from artifacts.masking import origin_for, source_for
from artifacts.models import ImportRecord
from importer.errors import ImportError_
from importer.jobs import is_final
from importer.results import ImportReport


class ImportRecordSerializer(serializers.ModelSerializer):
    """One import: a queued request (its state and report) or one plugin's import."""

    result = ImportReportSerializer(allow_null=True, read_only=True)
    error = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    origin = serializers.SerializerMethodField()
    parent = serializers.UUIDField(source="parent_id", allow_null=True, read_only=True)
    # Declared, not derived from the model: a derived one takes the database's integer range,
    # and the schema must not differ between SQLite and PostgreSQL.
    children_imported = serializers.IntegerField(read_only=True)
    children_reused = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportRecord
        fields = [
            "id",
            "kind",
            "status",
            "parent",
            "collection_name",
            "plugin_name",
            "plugin_hash",
            "decision",
            "source",
            "origin",
            "started_at",
            "finished_at",
            "duration_ms",
            "children_imported",
            "children_reused",
            "warnings",
            "error",
            "result",
        ]

    @extend_schema_field(ErrorItemSerializer(allow_null=True))
    def get_error(self, record: ImportRecord) -> dict[str, str] | None:
        if not record.error_rule:
            return None
        return {
            "path": record.error_path,
            "rule": record.error_rule,
            "message": record.error_message,
        }

    @extend_schema_field(OpenApiTypes.STR)
    def get_source(self, record: ImportRecord) -> str:
        return source_for(record.source, staff=is_staff(self.context))

    @extend_schema_field(OriginSerializer(allow_null=True))
    def get_origin(self, record: ImportRecord) -> Any:
        return origin_for(record.origin, staff=is_staff(self.context))


@extend_schema_view(
    list=extend_schema(summary="The import history, newest first"),
    retrieve=extend_schema(
        summary="One import: a queued import's state and result, or one plugin's import",
        responses={200: ImportRecordSerializer, 404: ErrorSerializer},
    ),
)
class ImportRecordViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The import history; POST imports an uploaded archive or a remote source."""

    serializer_class = ImportRecordSerializer
    queryset = ImportRecord.objects.order_by("-started_at", "id")
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action == "create":
            return [permissions.IsAuthenticated(), CanImport()]
        return [permissions.IsAuthenticated()]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything reads the body (CSRF checks of session auth read request.POST).
        request.upload_handlers = [
            LimitedUploadHandler(request, settings.SKILLMEAT_MAX_TOTAL_BYTES)
        ]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        summary="Import a plugin or marketplace archive, or a remote source",
        request={
            "multipart/form-data": ImportRequestSerializer,
            "application/json": ImportRequestSerializer,
        },
        responses={
            201: ImportReportSerializer,
            200: OpenApiResponse(ImportReportSerializer, description="A dry run: nothing written."),
            202: OpenApiResponse(
                ImportRecordSerializer, description="Queued: follow the Location header."
            ),
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            413: ErrorSerializer,
        },
        examples=[examples.IMPORT_REPORT, examples.IMPORT_ERROR],
    )
    def create(self, request: Request) -> Response:
        form = ImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data["dry_run"]:  # writes nothing and leaves no record: answered at once
                return import_response(_dry_run(request, data), dry_run=True)
            record = _queue(request, data)
        except ImportError_ as refused:
            return refused_response(refused)
        if not is_final(record):
            location = reverse("import-record-detail", args=[record.pk])
            document = ImportRecordSerializer(record, context={"request": request}).data
            return Response(
                document, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
            )
        return import_response(ImportReport.from_dict(record.result or {}), dry_run=False)


def _dry_run(request: Request, data: dict[str, Any]) -> ImportReport:
    options = {"collection": data["collection"], "dry_run": True, "remote": data["remote"]}
    if "url" in data:
        user = request.user.get_username()
        return import_remote_checked(data["url"], source_text=f"api:{user}", **options)
    upload = data["file"]
    return import_upload(upload, source_text=f"upload:{upload.name}", **options)


def _queue(request: Request, data: dict[str, Any]) -> ImportRecord:
    options = {
        "collection": data["collection"],
        "dry_run": data["dry_run"],
        "remote": data["remote"],
    }
    if "url" in data:
        return queue_remote(
            data["url"], source_text=f"api:{request.user.get_username()}", **options
        )
    upload = data["file"]
    return queue_upload(upload, source_text=f"upload:{upload.name}", **options)


def refused_response(error: ImportError_) -> Response:
    """Refused before anything was fetched or queued: 400 at once."""
    errors = [{"path": error.path, "rule": error.rule, "message": error.message}]
    return Response(
        error_body(error.message, error.code, errors), status=status.HTTP_400_BAD_REQUEST
    )


def import_response(report: ImportReport, *, dry_run: bool) -> Response:
    if not report.results and report.failed:
        errors = [{"path": f.path, "rule": f.rule, "message": f.message} for f in report.failed]
        return Response(
            error_body(report.failed[0].message, "import_failed", errors),
            status=status.HTTP_400_BAD_REQUEST,
        )
    created = report.results and not dry_run
    document = ImportReportSerializer(report.as_dict()).data
    return Response(document, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
