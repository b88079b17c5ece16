"""The committed OpenAPI schema against the API as it really answers: schemathesis generates
requests for every operation (valid and invalid ones) on a small seeded database, and every
response must match the schema; no server error is allowed."""

from pathlib import Path

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

from importer.services import import_paths
from tests.plugins import full_plugin

SCHEMA = Path(__file__).resolve().parent.parent / "openapi.yaml"

# What the API answers must be what the schema says; how leniently it reads a query string
# (DRF takes ``page_size=null`` as the default size) is not a contract.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]

schema = schemathesis.openapi.from_path(SCHEMA)
schema.app = get_wsgi_application()


@pytest.fixture(params=["staff", "reader"])
def seeded(request, make_tree, transactional_db):
    """A collection holding one plugin of every child type, and the token of a staff user or
    of a reader (who sees masked secrets and may not import)."""
    import_paths([make_tree(full_plugin())])
    user = User.objects.create_user(request.param, password="x", is_staff=request.param == "staff")
    return Token.objects.create(user=user).key


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_matches_its_schema(case, seeded):
    case.call_and_validate(headers={"Authorization": f"Token {seeded}"}, checks=CHECKS)
