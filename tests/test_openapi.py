"""The OpenAPI schema validates and the committed openapi.yaml is current."""

from pathlib import Path

import yaml
from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.yaml"


def test_schema_validates_and_matches_the_committed_file(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    assert generated.read_text() == COMMITTED.read_text(), (
        "openapi.yaml is stale: run `make schema` and commit it"
    )
    schema = yaml.safe_load(generated.read_text())
    paths = schema["paths"]
    assert {
        "/api/v1/artifacts/",
        "/api/v1/artifacts/{id}/associations/",
        "/api/v1/imports/",
    } <= set(paths)
    components = schema["components"]["schemas"]
    assert {"Associations", "AssociationItem", "ImportReport", "Error"} <= set(components)
    assert schema["components"]["securitySchemes"]["tokenAuth"]["type"] == "apiKey"
    import_responses = paths["/api/v1/imports/"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "413"} <= set(import_responses)
