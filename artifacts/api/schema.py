"""The OpenAPI schema's shared parts: every operation can answer with the API's one error
shape, so the schema declares those statuses for all of them (a postprocessing hook of
drf-spectacular)."""

from typing import Any

ERROR_RESPONSES = {
    "400": "Bad input: the errors name each offending field or path and the rule it broke.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The user may not do this.",
    "404": "No such object (or an unknown URL under /api/).",
    "405": "The method is not allowed here.",
    "406": "No acceptable representation for the Accept header.",
    "500": "A server error; its details are only in the server log.",
}
ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_RESPONSES.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    },
                )
    return result
