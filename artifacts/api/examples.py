"""Examples shown in the OpenAPI schema for the associations and import responses."""

from drf_spectacular.utils import OpenApiExample

PINNED = "3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"
NEWER = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"

ASSOCIATIONS = OpenApiExample(
    "A plugin with one drifted child",
    response_only=True,
    value={
        "artifact_id": "0b7c8a52-6d0f-4a52-9a55-3f1d9b7f0e11",
        "parents": [],
        "children": [
            {
                "artifact_id": "5a0e3f0c-2c1e-4d8e-b0a4-7f6e2d9c1b3a",
                "artifact_name": "pdf",
                "artifact_type": "skill",
                "relationship_type": "contains",
                "pinned_version_hash": PINNED,
                "current_version_hash": NEWER,
                "drifted": True,
                "position": 0,
                "created_at": "2026-11-25T08:00:00Z",
            },
            {
                "artifact_id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                "artifact_name": "git/commit",
                "artifact_type": "command",
                "relationship_type": "contains",
                "pinned_version_hash": NEWER,
                "current_version_hash": NEWER,
                "drifted": False,
                "position": 1,
                "created_at": "2026-11-25T08:00:00Z",
            },
        ],
    },
)

IMPORT_REPORT = OpenApiExample(
    "A plugin imported, one child reused",
    response_only=True,
    status_codes=["201"],
    value={
        "results": [
            {
                "plugin_id": "0b7c8a52-6d0f-4a52-9a55-3f1d9b7f0e11",
                "plugin_name": "toolbox",
                "plugin_hash": PINNED,
                "decision": "CREATE_NEW_ARTIFACT",
                "transaction_id": "d3b07384-d113-4ec6-a7a4-8f5b2c1e0f9a",
                "dry_run": False,
                "children": [
                    {
                        "name": "pdf",
                        "type": "skill",
                        "content_hash": NEWER,
                        "decision": "LINK_EXISTING",
                        "artifact_id": "5a0e3f0c-2c1e-4d8e-b0a4-7f6e2d9c1b3a",
                        "version_id": "6b1f4e2d-3c5a-4b7e-9d8f-0a1b2c3d4e5f",
                    }
                ],
                "children_imported": 0,
                "children_reused": 1,
                "warnings": [],
                "duration_ms": 41.2,
                "plugin_version_id": "7c2e5f3a-4d6b-4c8f-8e9a-1b2c3d4e5f6a",
                "collection": "default",
            }
        ],
        "skipped": [{"name": "remote-plugin", "reason": "remote source (github) is not fetched"}],
        "failed": [],
    },
)

IMPORT_ERROR = OpenApiExample(
    "An archive member escaping the archive",
    response_only=True,
    status_codes=["400"],
    value={
        "detail": "archive member path contains '..'",
        "code": "import_failed",
        "errors": [
            {
                "path": "toolbox.zip!../evil.md",
                "rule": "unsafe_archive_member",
                "message": "archive member path contains '..'",
            }
        ],
    },
)
