"""One error shape for the whole API: ``{"detail", "code", "errors": [{"path", "rule",
"message"}]}``, for the importer's domain errors, DRF's own, and what Django answers itself
under ``/api/`` (an unknown URL, a server error)."""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from artifacts.hashrefs import HashReferenceError
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
        code = status.HTTP_409_CONFLICT if error.code == "conflict" else status.HTTP_400_BAD_REQUEST
        return Response(body, status=code)
    if isinstance(error, HashReferenceError):
        errors = [
            {"path": error.reference[:80], "rule": "bad_hash_reference", "message": str(error)}
        ]
        return Response(error_body(str(error), "bad_hash_reference", errors), status=400)
    if isinstance(error, Http404):
        error = exceptions.NotFound(str(error) or None)
    elif isinstance(error, DjangoPermissionDenied):
        error = exceptions.PermissionDenied(str(error) or None)
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


API_PREFIX = "/api/"
log = structlog.get_logger("skillmeat.api")


class ApiErrorMiddleware:
    """Answers every error under ``/api/`` in the API's one JSON shape: Django's own 404
    page for an unknown URL, and any uncaught exception (500, its details only logged)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        # A DRF error rendered by another renderer (the schema's YAML) keeps its own words.
        data = getattr(response, "data", None)
        body = data if isinstance(data, dict) and {"detail", "code"} <= set(data) else None
        return _json_error(response.status_code, headers=response, body=body)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        log.exception("api_server_error", path=request.path, method=request.method)
        return _json_error(HTTPStatus.INTERNAL_SERVER_ERROR)


def _json_error(
    code: int, headers: HttpResponse | None = None, body: dict[str, Any] | None = None
) -> JsonResponse:
    if body is None:
        phrase = HTTPStatus(code).phrase
        body = error_body(f"{phrase}.", phrase.lower().replace(" ", "_").replace("-", "_"), [])
    response = JsonResponse(body, status=code, json_dumps_params={"ensure_ascii": False})
    for header in ("Allow", "WWW-Authenticate", "Location"):
        if headers is not None and headers.has_header(header):
            response[header] = headers[header]
    return response
