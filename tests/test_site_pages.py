"""The site's pages outside the API: the landing page, and the API docs for a visitor."""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_landing_page_links_to_the_admin_the_docs_and_the_schema():
    response = Client().get("/")
    assert response.status_code == 200
    page = response.content.decode()
    for link in ('href="/admin/"', 'href="/api/v1/docs"', 'href="/api/v1/schema"'):
        assert link in page


def test_the_api_docs_send_a_visitor_to_the_login_page_and_back():
    response = Client().get("/api/v1/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/v1/docs/"
    client = Client()
    client.force_login(User.objects.create_user("reader", password="x"))
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    assert b"swagger-ui" in page.content


def is_error_document(content):
    """True when ``content`` is the API's one error shape."""
    try:
        document = json.loads(content)
    except ValueError:
        return False
    return isinstance(document, dict) and {"detail", "code", "errors"} <= set(document)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v1/no-such-thing/", 404),
        ("get", "/api/v1/artifacts/not-a-uuid/", 404),
        ("get", "/api/v1/artifacts/00000000-0000-0000-0000-000000000000/versions/", 404),
        ("delete", "/api/v1/collections/", 405),
        ("get", "/api/v1/artifacts/?page=999", 404),
        ("get", "/api/v1/collections/", 401),
    ],
)
def test_every_error_under_the_api_has_the_one_shape(method, path, status):
    client = Client()
    if status != 401:
        client.force_login(User.objects.create_user("reader", password="x"))
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert is_error_document(response.content), response.content
