"""``GET /api/v1/updates/`` (staff): the update check of DESIGN section 11, run now for the
plugins asked for (all by default), the same document as ``check_updates --json``."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from artifacts.api.serializers import ErrorSerializer
from artifacts.models import UpdateState
from importer.updates import check_updates, plugins_to_check


class UpdatesQuerySerializer(serializers.Serializer):
    collection = serializers.CharField(required=False, help_text="Only this collection.")
    plugin = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Only these plugins (repeat)."
    )


class PluginUpdateSerializer(serializers.Serializer):
    name = serializers.CharField()
    collection = serializers.CharField()
    state = serializers.ChoiceField(choices=UpdateState.choices)
    current = serializers.CharField(
        allow_null=True, help_text="The commit (or archive digest) we have."
    )
    upstream = serializers.CharField(allow_null=True, help_text="What upstream has now.")
    error = serializers.CharField(allow_null=True, help_text="Why upstream was unreachable.")


class UpdatesSerializer(serializers.Serializer):
    plugins = PluginUpdateSerializer(many=True)


class UpdatesView(APIView):
    """Asks each plugin's origin whether it moved; staff only (it fetches from the origins)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        summary="Whether the origins of plugins moved",
        parameters=[UpdatesQuerySerializer],
        responses={200: UpdatesSerializer, 400: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        query = UpdatesQuerySerializer(
            data={
                **request.query_params.dict(),
                "plugin": request.query_params.getlist("plugin"),
            }
        )
        query.is_valid(raise_exception=True)
        plugins = plugins_to_check(
            query.validated_data.get("collection"), query.validated_data.get("plugin", [])
        )
        updates = check_updates(plugins)
        return Response(UpdatesSerializer({"plugins": [u.as_dict() for u in updates]}).data)
