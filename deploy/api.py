"""Read-only API of the sync engine: deployments, and the status of a project's deployed
children (the document of ``sync_status --json``)."""

from pathlib import Path
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from artifacts.api.serializers import ErrorSerializer
from deploy.models import Deployment
from deploy.services import status_document


class DeploymentSerializer(serializers.ModelSerializer):
    plugin_id = serializers.UUIDField(source="plugin.id", read_only=True)
    plugin_name = serializers.CharField(source="plugin.name", read_only=True)
    version_hash = serializers.CharField(source="plugin_version.content_hash", read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id",
            "project",
            "platform",
            "plugin_id",
            "plugin_name",
            "scope",
            "mode",
            "version_hash",
            "deployed_at",
        ]


class ChildStateSerializer(serializers.Serializer):
    type = serializers.CharField()
    name = serializers.CharField()
    path = serializers.CharField()
    state = serializers.ChoiceField(choices=["missing", "modified", "outdated", "in_sync"])
    deployed_hash = serializers.CharField()
    current_hash = serializers.CharField(allow_null=True)
    latest_hash = serializers.CharField(allow_null=True)


class MetaFileStateSerializer(serializers.Serializer):
    path = serializers.CharField()
    state = serializers.ChoiceField(choices=["missing", "modified", "in_sync"])


class DeployedPluginSerializer(serializers.Serializer):
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=["plugin", "flat"])
    version_hash = serializers.CharField()
    latest_version_hash = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=["current", "outdated", "unknown"])
    children = ChildStateSerializer(many=True)
    meta_files = MetaFileStateSerializer(many=True)


class ProjectStatusSerializer(serializers.Serializer):
    project = serializers.CharField()
    plugins = DeployedPluginSerializer(many=True)


class ProjectQuerySerializer(serializers.Serializer):
    project = serializers.CharField(help_text="The project folder: an absolute path.")

    def validate_project(self, value: str) -> str:
        """An absolute path to an existing folder; nothing is expanded (no ``~``)."""
        if "\x00" in value or not value.startswith("/"):
            raise serializers.ValidationError("must be an absolute path to a folder")
        try:
            is_folder = Path(value).is_dir()
        except (OSError, ValueError):
            is_folder = False
        if not is_folder:
            raise serializers.ValidationError("no such folder on the server")
        return value


class DeploymentViewSet(viewsets.ReadOnlyModelViewSet):
    """Deployments reveal server paths: staff only."""

    serializer_class = DeploymentSerializer
    permission_classes = [permissions.IsAdminUser]

    def get_queryset(self) -> Any:
        deployments = Deployment.objects.select_related("plugin", "plugin_version").order_by(
            "project", "id"
        )
        project = self.request.query_params.get("project")
        return deployments.filter(project=project) if project else deployments


class ProjectStatusView(APIView):
    """A project's state reveals server paths: staff only."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        summary="The state of every child deployed in a project",
        parameters=[ProjectQuerySerializer],
        responses={200: ProjectStatusSerializer, 400: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        query = ProjectQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        document = status_document(Path(query.validated_data["project"]))
        return Response(ProjectStatusSerializer(document).data)
