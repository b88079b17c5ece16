"""check_updates (DESIGN section 11): up to date, update available, unreachable, not remote;
``--import`` imports what moved with unchanged children linked; the state is remembered."""

import json
import shutil

import pytest

from artifacts.models import Artifact, UpdateCheck, Version
from importer.results import DedupDecision
from importer.services import import_paths
from tests.conftest import run_command
from tests.test_remote import market, plugin_tree, zipped

pytestmark = pytest.mark.django_db(transaction=True)


def states(*args):
    status, out, err = run_command("check_updates", "--json", *args)
    document = json.loads(out)
    return status, {p["name"]: p for p in document["plugins"]}, document, err


def test_a_moved_repository_is_detected_and_imported_with_unchanged_children_linked(git_host):
    first = git_host.publish("acme/tools", plugin_tree("tools", hello="hi", keep="k"))
    import_paths(["github:acme/tools@main"])
    status, found, _, _ = states()
    assert status == 0
    assert found["tools"] == {
        "name": "tools",
        "collection": "default",
        "state": "up_to_date",
        "current": first,
        "upstream": first,
        "error": None,
    }
    second = git_host.publish("acme/tools", plugin_tree("tools", hello="hello!", keep="k"))
    status, found, _, _ = states()
    assert (found["tools"]["state"], found["tools"]["upstream"]) == ("update_available", second)
    assert UpdateCheck.objects.get(artifact__name="tools").state == "update_available"

    status, found, document, err = states("--import")
    assert status == 0, err
    (result,) = document["imported"]["results"]
    decisions = {c["name"]: c["decision"] for c in result["children"]}
    assert decisions == {
        "hello": DedupDecision.CREATE_NEW_VERSION,
        "keep": DedupDecision.LINK_EXISTING,
    }
    plugin = Artifact.objects.get(name="tools")
    assert plugin.latest_version.origin_commit == second
    assert plugin.latest_version.origin_ref == "main"
    assert states()[1]["tools"]["state"] == "up_to_date"


def test_a_repository_that_moved_elsewhere_than_the_plugins_folder_is_up_to_date(git_host):
    def mono(other):
        return {
            **{f"plugins/a/{k}": v for k, v in plugin_tree("a", one="1").items()},
            "README.md": other,
        }

    git_host.publish("acme/mono", mono("first"))
    import_paths(["github:acme/mono#plugins/a"])
    moved = git_host.publish("acme/mono", mono("second"))
    found = states()[1]["a"]
    assert (found["state"], found["upstream"]) == ("up_to_date", moved)


def test_a_plugin_re_imported_unchanged_from_a_newer_commit_is_current(git_host):
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    import_paths(["github:acme/tools"])
    git_host.publish("acme/tools", {**plugin_tree("tools", hello="hi"), "NOTES.txt": "x"})
    assert states()[1]["tools"]["state"] == "update_available"
    newer = git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    (result,) = import_paths(["github:acme/tools"]).results
    assert result.decision == DedupDecision.LINK_EXISTING
    assert states()[1]["tools"]["current"] == newer


def test_unreachable_and_not_remote_plugins(git_host, make_tree):
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    import_paths(["github:acme/tools"])
    import_paths([make_tree(plugin_tree("local", x="x"))])
    shutil.rmtree(git_host.bare("acme/tools"))
    status, found, _, _ = states()
    assert status == 1
    assert found["local"]["state"] == "not_remote"
    assert found["tools"]["state"] == "unreachable"
    assert "acme/tools" in found["tools"]["error"]


def test_a_remote_marketplaces_entries_are_checked_against_its_current_listing(
    git_host, https_server
):
    one = git_host.publish("acme/pinned", plugin_tree("pinned", p="one"))
    two = git_host.publish("acme/pinned", plugin_tree("pinned", p="two"))
    archive = https_server.serve("/arc.zip", zipped(plugin_tree("arc", a="a")))

    def listing(pin, archive_url):
        return {
            **market(
                "shop",
                [
                    {"name": "inside", "source": "./inside"},
                    {
                        "name": "pinned",
                        "source": {"source": "github", "repo": "acme/pinned", "sha": pin},
                    },
                    {"name": "arc", "source": {"source": "archive", "url": archive_url}},
                ],
            ),
            **{f"inside/{k}": v for k, v in plugin_tree("inside", i="i").items()},
        }

    git_host.publish("acme/shop", listing(one, archive))
    assert import_paths(["github:acme/shop"]).failed == []
    found = states()[1]
    assert {n: p["state"] for n, p in found.items()} == {
        "arc": "up_to_date",
        "inside": "up_to_date",
        "pinned": "up_to_date",
    }, "HEAD of acme/pinned moved, but the marketplace pins the first commit"

    https_server.serve("/arc.zip", zipped(plugin_tree("arc", a="changed")))
    git_host.publish("acme/shop", listing(two, archive))
    found = states()[1]
    assert {n: p["state"] for n, p in found.items()} == {
        "arc": "update_available",
        "inside": "up_to_date",
        "pinned": "update_available",
    }
    assert found["pinned"]["upstream"] == two

    status, found, document, err = states("--import", "--plugin", "pinned")
    assert status == 0, err
    assert [r["plugin_name"] for r in document["imported"]["results"]] == ["pinned"]
    assert Version.objects.get(artifact__name="pinned", origin_commit=two)
    assert states("--plugin", "pinned")[1]["pinned"]["state"] == "up_to_date"


def test_usage_errors_and_the_readable_summary(git_host):
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    import_paths(["github:acme/tools"])
    status, out, err = run_command("check_updates", "--plugin", "nope")
    assert status == 2 and "no plugin named nope" in err
    status, out, err = run_command("check_updates")
    assert status == 0
    assert "default/tools: up to date" in out
    assert "1 up to date, 0 update available, 0 unreachable, 0 not remote" in out


def test_the_api_serves_the_check_to_staff_only(git_host, client):
    from django.contrib.auth.models import User

    from tests.test_api import API, client_for

    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    import_paths(["github:acme/tools"])
    moved = git_host.publish("acme/tools", plugin_tree("tools", hello="new"))
    reader = client_for(User.objects.create_user("reader", password="x"))
    assert reader.get(f"{API}/updates/").status_code == 403
    staff = client_for(User.objects.create_user("boss", password="x", is_staff=True))
    document = staff.get(f"{API}/updates/?plugin=tools").json()
    assert document == {
        "plugins": [
            {
                "name": "tools",
                "collection": "default",
                "state": "update_available",
                "current": Version.objects.get(artifact__name="tools").origin_commit,
                "upstream": moved,
                "error": None,
            }
        ]
    }
    assert staff.get(f"{API}/updates/?collection=other").json() == {"plugins": []}


def test_the_admin_shows_the_state_and_checks_selected_plugins(git_host, admin_client):
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    import_paths(["github:acme/tools"])
    listing = admin_client.get("/admin/artifacts/artifact/?type__exact=plugin")
    assert b"not checked" in listing.content
    moved = git_host.publish("acme/tools", plugin_tree("tools", hello="new"))
    plugin = Artifact.objects.get(name="tools")
    done = admin_client.post(
        "/admin/artifacts/artifact/",
        {"action": "check_for_updates", "_selected_action": [str(plugin.pk)]},
        follow=True,
    )
    assert b"updates available: tools" in done.content
    assert f"update available ({moved[:12]})".encode() in done.content
