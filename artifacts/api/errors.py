"""One error shape for the whole API: ``{"detail", "code", "errors": [{"path", "rule",
"message"}]}``, for the importer's domain errors and DRF's own alike."""

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from importer.errors import ImportError_


def error_body(detail: str, code: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"detail": detail, "code": code, "errors": errors}


def _validation_errors(data: Any, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(data, dict):
        return [
            e for key, value in data.items() for e in _validation_errors(value, f"{prefix}{key}")
        ]
    if isinstance(data, list):
        return [e for value in data for e in _validation_errors(value, prefix)]
    return [{"path": prefix, "rule": getattr(data, "code", "invalid"), "message": str(data)}]


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(error, ImportError_):
        body = error_body(
            error.message,
            error.code,
            [{"path": error.path, "rule": error.rule, "message": error.message}],
        )
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, exceptions.ValidationError):
        response.data = error_body("Invalid input.", "invalid", _validation_errors(error.detail))
    elif isinstance(error, exceptions.APIException):
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        code = error.get_codes() if isinstance(error.get_codes(), str) else error.default_code
        response.data = error_body(str(detail), code, [])
    return response
