"""Claude Code's plugin format (DESIGN sections 2 and 3, Claude Code 2.1.240): each rule on a
fixture built here, with every hash computed independently from the DESIGN rule."""

import hashlib
import json
import os
from io import StringIO

import pytest
from django.core.management import call_command

from artifacts.models import Version
from importer.errors import Rule
from importer.results import DedupDecision
from importer.services import import_paths
from tests.plugins import manifest
from tests.test_bad_input import assert_rejected

pytestmark = pytest.mark.django_db(transaction=True)


def sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def tree_hash(files: dict[str, str | bytes], executable: frozenset[str] = frozenset()) -> str:
    """DESIGN 3 by hand: sorted '<mode> <sha256> <path>' lines, hashed."""
    lines = [
        f"{'100755' if path in executable else '100644'} {sha(content)} {path}\n"
        for path, content in sorted(files.items(), key=lambda item: item[0].encode())
    ]
    return sha("".join(lines))


def children_of(result):
    return {(c.type, c.name): c.content_hash for c in result.children}


def imported(root, **options):
    """Import ``root`` (a real import then links everything on a second run)."""
    report = import_paths([root], **options)
    assert report.failed == [], report.failed
    (result,) = report.results
    if not options.get("dry_run"):
        (again,) = import_paths([root], **options).results
        decisions = {again.decision, *(c.decision for c in again.children)}
        assert decisions == {DedupDecision.LINK_EXISTING}
        assert again.plugin_hash == result.plugin_hash
    return result


# --- custom paths -------------------------------------------------------------------------


def test_declared_commands_and_agents_replace_their_default_folders(make_tree):
    files = {
        ".claude-plugin/plugin.json": manifest("p", commands=["./extra"], agents="./team"),
        "commands/old.md": "old",
        "extra/new.md": "new",
        "agents/ignored.md": "agent",
        "team/lead.md": "lead",
    }
    result = imported(make_tree(files))
    assert children_of(result) == {("command", "new"): sha("new"), ("agent", "lead"): sha("lead")}
    assert result.plugin_hash == tree_hash(files)


def test_listing_the_default_folder_keeps_it(make_tree):
    files = {
        ".claude-plugin/plugin.json": manifest("p", commands=["./commands", "./more/x.md"]),
        "commands/a.md": "a",
        "more/x.md": "x",
    }
    assert set(children_of(imported(make_tree(files)))) == {("command", "a"), ("command", "x")}


def test_declared_skills_add_to_the_skills_folder(make_tree):
    files = {
        ".claude-plugin/plugin.json": manifest("p", skills=["./extra-skills", "./one"]),
        "skills/pdf/SKILL.md": "pdf",
        "skills/SKILL.md": "a meta-file, not a skill",
        "extra-skills/xlsx/SKILL.md": "xlsx",
        "extra-skills/xlsx/run.sh": "run",
        "one/SKILL.md": "one",
    }
    result = imported(make_tree(files))
    assert children_of(result) == {
        ("skill", "pdf"): tree_hash({"SKILL.md": "pdf"}),
        ("skill", "xlsx"): tree_hash({"SKILL.md": "xlsx", "run.sh": "run"}),
        ("skill", "one"): tree_hash({"SKILL.md": "one"}),
    }


def test_mcp_servers_of_a_declared_file_and_inline_add_to_mcp_json(make_tree):
    inline = {"inline": {"command": "b"}}
    files = {
        ".claude-plugin/plugin.json": manifest("p", mcpServers=["./servers.json", inline]),
        ".mcp.json": json.dumps({"mcpServers": {"default": {"command": "a"}}}),
        "servers.json": json.dumps({"declared": {"command": "c"}}),
    }
    result = imported(make_tree(files))
    canonical = {"default": '{"command":"a"}', "inline": '{"command":"b"}'}
    canonical["declared"] = '{"command":"c"}'
    assert children_of(result) == {("mcp", k): sha(v) for k, v in canonical.items()}


# --- single-skill and manifest-only plugins ----------------------------------------------


def test_a_root_skill_md_makes_a_single_skill_plugin(make_tree):
    files = {
        ".claude-plugin/plugin.json": manifest("solo"),
        ".mcp.json": json.dumps({"srv": {"command": "x"}}),
        "SKILL.md": "---\nname: solo-skill\n---\nDo it.\n",
        "scripts/run.sh": "#!/bin/sh\n",
        "commands/hello.md": "hello",
        "README.md": "readme",
    }
    result = imported(make_tree(files))
    skill_files = {
        k: v for k, v in files.items() if k in ("SKILL.md", "scripts/run.sh", "README.md")
    }
    assert children_of(result) == {
        ("skill", "solo"): tree_hash(skill_files),
        ("command", "hello"): sha("hello"),
        ("mcp", "srv"): sha('{"command":"x"}'),
    }
    assert result.plugin_hash == tree_hash(files)
    version = Version.objects.get(content_hash=tree_hash(skill_files))
    assert sorted(version.files.values_list("path", flat=True)) == sorted(skill_files)


def test_skills_dot_is_the_root_skill_too(make_tree):
    files = {
        ".claude-plugin/plugin.json": manifest("dot", skills=["."]),
        "SKILL.md": "root",
        "skills/inner/SKILL.md": "inner",
    }
    result = imported(make_tree(files))
    assert set(children_of(result)) == {("skill", "dot"), ("skill", "inner")}


def test_a_root_skill_md_beside_a_skills_folder_is_a_meta_file(make_tree):
    files = {
        "SKILL.md": "root",
        "skills/a/SKILL.md": "a",
        ".claude-plugin/plugin.json": manifest("x"),
    }
    assert set(children_of(imported(make_tree(files)))) == {("skill", "a")}


@pytest.mark.parametrize(
    "files",
    [
        {".claude-plugin/plugin.json": manifest("lsp-only"), ".lsp.json": '{"go": {}}'},
        {".claude-plugin/plugin.json": manifest("styles"), "output-styles/terse.md": "terse"},
    ],
)
def test_a_plugin_with_a_manifest_and_no_children_imports_with_a_warning(make_tree, files):
    result = imported(make_tree(files))
    assert result.children == ()
    assert any("no commands, agents, skills" in w for w in result.warnings)
    assert result.plugin_hash == tree_hash(files)


def test_a_marketplace_listed_folder_without_manifest_or_children_is_a_plugin(make_tree):
    document = {"name": "m", "owner": {"name": "o"}, "plugins": [{"name": "bare", "source": "./b"}]}
    root = make_tree(
        {".claude-plugin/marketplace.json": json.dumps(document), "b/settings.json": "{}"}
    )
    result = imported(root)
    assert result.plugin_name == "bare" and result.children == ()


# --- manifests and marketplace entries -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("commands", 123),
        ("skills", 5),
        ("hooks", True),
        ("keywords", "x"),
        ("agents", {"a": 1}),
        ("mcpServers", 7),
        ("version", 2),
    ],
)
def test_a_known_key_of_the_wrong_type_is_bad_manifest(make_tree, skillmeat_home, key, value):
    root = make_tree(
        {".claude-plugin/plugin.json": manifest("p", **{key: value}), "commands/a.md": "a"}
    )
    failure = assert_rejected(root, Rule.BAD_MANIFEST, f"plugin.json#{key}", skillmeat_home)
    assert repr(key) in failure.message


def marketplace(make_tree, entries, files, **document):
    body = {"name": "m", "owner": {"name": "o"}, "plugins": entries, **document}
    return make_tree({".claude-plugin/marketplace.json": json.dumps(body), **files})


def test_a_strict_entry_merges_its_components_with_plugin_json(make_tree):
    root = marketplace(
        make_tree,
        [{"name": "p", "source": "./p", "commands": ["./more"]}],
        {
            "p/.claude-plugin/plugin.json": manifest("p", commands=["./commands"]),
            "p/commands/a.md": "a",
            "p/more/b.md": "b",
        },
    )
    assert set(children_of(imported(root))) == {("command", "a"), ("command", "b")}


def test_strict_false_with_components_in_plugin_json_is_bad_manifest(make_tree, skillmeat_home):
    root = marketplace(
        make_tree,
        [{"name": "p", "source": "./p", "strict": False, "commands": ["./commands"]}],
        {
            "p/.claude-plugin/plugin.json": manifest("p", agents=["./agents"]),
            "p/commands/a.md": "a",
        },
    )
    report = import_paths([root])
    (failure,) = report.failed
    assert failure.rule == Rule.BAD_MANIFEST and "strict: false" in failure.message


def test_a_marketplace_root_strict_false_entry_lists_its_complete_skill_set(make_tree):
    files = {
        "skills/a/SKILL.md": "a",
        "skills/b/SKILL.md": "b",
        "README.md": "marketplace readme",
    }
    root = marketplace(
        make_tree,
        [{"name": "only-a", "source": "./", "strict": False, "skills": ["./skills/a"]}],
        files,
    )
    result = imported(root)
    assert children_of(result) == {("skill", "a"): tree_hash({"SKILL.md": "a"})}
    assert result.plugin_hash == tree_hash({"skills/a/SKILL.md": "a"})


def test_bare_name_sources_live_under_plugin_root(make_tree):
    root = marketplace(
        make_tree,
        [{"name": "formatter", "source": "formatter"}],
        {"plugins/formatter/commands/fmt.md": "fmt"},
        metadata={"pluginRoot": "./plugins"},
    )
    assert children_of(imported(root)) == {("command", "fmt"): sha("fmt")}


def test_bad_entries_fail_alone_and_the_rest_imports(make_tree):
    entries = [
        {"name": "good", "source": "./good"},
        {"name": "evil\u202e", "source": "./good"},
        {"name": "escapes", "source": "../outside"},
        {"name": "no-source"},
        {"name": "GOOD", "source": "./good"},
        {"name": "missing", "source": "./missing"},
        {"name": "typed", "source": "./good", "commands": 5},
        "not an object",
    ]
    root = marketplace(make_tree, entries, {"good/commands/a.md": "a"})
    report = import_paths([root])
    assert [r.plugin_name for r in report.results] == ["good"]
    assert sorted((f.name, f.rule) for f in report.failed) == sorted(
        [
            ("evil\\u202e", Rule.BAD_NAME),  # shown escaped
            ("escapes", Rule.PATH_ESCAPES),
            ("no-source", Rule.BAD_MARKETPLACE),
            ("GOOD", Rule.BAD_MARKETPLACE),
            ("missing", Rule.NOT_FOUND),
            ("typed", Rule.BAD_MANIFEST),
            ("plugins[7]", Rule.BAD_MARKETPLACE),
        ]
    )
    assert all("marketplace.json#plugins[" in f.path for f in report.failed if f.name != "missing")


# --- links ---------------------------------------------------------------------------------


def test_a_file_link_inside_the_plugin_is_a_copy_with_a_warning(make_tree):
    files = {
        ".claude-plugin/plugin.json": manifest("p"),
        "CLAUDE.md": "instructions",
        "skills/s/SKILL.md": "skill",
        "bin/pip": ("#!/bin/sh\n", 0o755),
    }
    root = make_tree(files)
    os.symlink("CLAUDE.md", root / "AGENTS.md")
    os.symlink("pip", root / "bin/pip3")
    os.symlink("../../CLAUDE.md", root / "skills/s/notes.md")
    os.symlink("AGENTS.md", root / "chain.md")  # a link to a link
    result = imported(root)
    expected = {k: (v[0] if isinstance(v, tuple) else v) for k, v in files.items()}
    expected.update(
        {
            "AGENTS.md": "instructions",
            "bin/pip3": "#!/bin/sh\n",
            "skills/s/notes.md": "instructions",
            "chain.md": "instructions",
        }
    )
    assert result.plugin_hash == tree_hash(expected, frozenset({"bin/pip", "bin/pip3"}))
    assert children_of(result)[("skill", "s")] == tree_hash(
        {"SKILL.md": "skill", "notes.md": "instructions"}
    )
    assert sum("imported as a copy" in w for w in result.warnings) == 4
    out, err = StringIO(), StringIO()
    call_command("hash_artifact", str(root), stdout=out, stderr=err)
    assert out.getvalue().strip() == result.plugin_hash
    assert err.getvalue().count("imported as a copy") == 4


@pytest.mark.parametrize(
    ("make_link", "problem"),
    [
        (lambda root, tmp: os.symlink(tmp / "outside.md", root / "l.md"), "outside the plugin"),
        (lambda root, tmp: os.symlink("commands", root / "l.md"), "a folder"),
        (lambda root, tmp: os.symlink("nothing.md", root / "l.md"), "dangling"),
        (
            lambda root, tmp: (
                os.symlink("b.md", root / "l.md"),
                os.symlink("l.md", root / "b.md"),
            ),
            "loop",
        ),
    ],
)
def test_every_other_link_is_refused(make_tree, skillmeat_home, tmp_path, make_link, problem):
    (tmp_path / "outside.md").write_text("secret")
    root = make_tree({".claude-plugin/plugin.json": manifest("p"), "commands/a.md": "a"})
    make_link(root, tmp_path)
    failure = assert_rejected(root, Rule.UNSAFE_FILE_TYPE, "", skillmeat_home)
    assert problem in failure.message


def test_a_chain_longer_than_eight_links_is_refused(make_tree, skillmeat_home):
    root = make_tree({".claude-plugin/plugin.json": manifest("p"), "commands/a.md": "a"})
    os.symlink("commands/a.md", root / "l0.md")
    for index in range(1, 10):
        os.symlink(f"l{index - 1}.md", root / f"l{index}.md")
    failure = assert_rejected(root, Rule.UNSAFE_FILE_TYPE, "/l", skillmeat_home)
    assert failure.path.endswith(("l8.md", "l9.md")) and "longer than 8" in failure.message


# --- same-named children of different plugins, invocation names -------------------------


def plugin_with(name, greeting, skill_name="pdf"):
    return {
        ".claude-plugin/plugin.json": manifest(name),
        "commands/greet.md": greeting,
        "skills/pdf/SKILL.md": f"---\nname: {skill_name}\n---\nRead PDFs.\n",
    }


def test_a_same_named_child_of_another_plugin_is_a_name_conflict(make_tree):
    imported(make_tree(plugin_with("alpha", "hello from alpha")))
    dry = imported(make_tree(plugin_with("beta", "hello from beta")), dry_run=True)
    beta = imported(make_tree(plugin_with("beta", "hello from beta")))
    for result in (dry, beta):
        (warning,) = [w for w in result.warnings if "name_conflict" in w]
        assert "command:greet" in warning and "alpha" in warning
    alpha_again = imported(make_tree(plugin_with("alpha", "hello again from alpha")))
    assert not [w for w in alpha_again.warnings if "name_conflict" in w]


def test_latest_from_tells_whose_newer_version_it_is(make_tree, client, django_user_model):
    imported(make_tree(plugin_with("alpha", "hello from alpha")))
    imported(make_tree(plugin_with("beta", "hello from beta")))
    admin = django_user_model.objects.create_superuser("admin", "a@example.org", "x")
    client.force_login(admin)
    from artifacts.models import Artifact

    alpha = Artifact.objects.get(type="plugin", name="alpha")
    body = client.get(f"/api/v1/artifacts/{alpha.pk}/associations/").json()
    greet = next(c for c in body["children"] if c["artifact_name"] == "greet")
    assert greet["drifted"] is True and greet["latest_from"] == ["beta"]
    pdf = next(c for c in body["children"] if c["artifact_name"] == "pdf")
    assert pdf["drifted"] is False and pdf["latest_from"] == ["alpha", "beta"]
    page = client.get(f"/admin/artifacts/artifact/{alpha.pk}/change/").content.decode()
    assert "newer in beta" in page


def test_a_skills_frontmatter_name_is_its_invocation_name(make_tree, client, django_user_model):
    result = imported(make_tree(plugin_with("alpha", "hi", skill_name="pdf-tools")))
    from artifacts.models import Artifact

    skill = Artifact.objects.get(type="skill", name="pdf")
    assert skill.latest_version.invocation_name == "pdf-tools"
    assert any("frontmatter name 'pdf-tools' differs" in w for w in result.warnings)
    client.force_login(django_user_model.objects.create_user("r", password="x"))
    assert client.get(f"/api/v1/artifacts/{skill.pk}/").json()["invocation_name"] == "pdf-tools"
    (version,) = client.get(f"/api/v1/artifacts/{skill.pk}/versions/").json()["results"]
    assert version["invocation_name"] == "pdf-tools"
    plugin = Artifact.objects.get(type="plugin", name="alpha")
    children = client.get(f"/api/v1/artifacts/{plugin.pk}/associations/").json()["children"]
    assert {c["artifact_name"]: c["invocation_name"] for c in children} == {
        "greet": "",
        "pdf": "pdf-tools",
    }


def test_a_listed_file_link_of_a_marketplace_root_entry_is_a_copy(make_tree):
    root = marketplace(
        make_tree,
        [{"name": "only", "source": "./", "strict": False, "commands": ["./commands/alias.md"]}],
        {"commands/real.md": "the real command"},
    )
    os.symlink("real.md", root / "commands/alias.md")
    result = imported(root)
    assert children_of(result) == {("command", "alias"): sha("the real command")}
    assert any("a link, imported as a copy" in w for w in result.warnings)
