"""The site's pages outside the API: the landing page, and the API docs for a visitor."""

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
