"""Remote sources (DESIGN section 11): git repositories through git's own URL rewriting, archive
URLs from an HTTPS server on loopback, marketplaces with remote entries, pins, limits and time
limits. Nothing here touches the network."""

import io
import json
import os
import zipfile

import pytest

from artifacts.models import Artifact, ImportRecord, Version
from importer.errors import Rule, ValidationFailed
from importer.hashing import hash_directory
from importer.remote.spec import ArchiveSource, GitSource, looks_remote, parse_remote
from importer.services import import_paths
from tests.conftest import run_command, write_tree
from tests.plugins import database_snapshot, make_zip, manifest
from tests.remotes import silent_server

pytestmark = pytest.mark.django_db(transaction=True)


def plugin_tree(name, **children):
    tree = {".claude-plugin/plugin.json": manifest(name)}
    tree.update({f"commands/{child}.md": text for child, text in children.items()})
    return tree


def market(name, plugins):
    return {
        ".claude-plugin/marketplace.json": json.dumps(
            {"name": name, "owner": {"name": "Owner"}, "plugins": plugins}
        )
    }


def zipped(tree):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path, text in tree.items():
            bundle.writestr(path, text)
    return buffer.getvalue()


# What a text names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("github:o/r", GitSource("https://github.com/o/r.git")),
        (
            "github:o/r@v1#plugins/x",
            GitSource("https://github.com/o/r.git", "v1", None, "plugins/x"),
        ),
        ("https://github.com/o/r@main", GitSource("https://github.com/o/r", "main")),
        ("https://u:t@gitlab.com/o/r.git@dev", GitSource("https://u:t@gitlab.com/o/r.git", "dev")),
        ("ssh://git@host/o/r.git#sub", GitSource("ssh://git@host/o/r.git", path="sub")),
        ("git@github.com:o/r.git@v2", GitSource("git@github.com:o/r.git", "v2")),
        ("file:///srv/r.git@" + "a" * 40, GitSource("file:///srv/r.git", sha="a" * 40)),
        ("https://h/p.zip", ArchiveSource("https://h/p.zip")),
        ("https://h/p.tgz#sha256=" + "B" * 64, ArchiveSource("https://h/p.tgz", "b" * 64)),
    ],
)
def test_remote_sources_are_read_as_designed(text, expected):
    assert looks_remote(text)
    assert parse_remote(text) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("ftp://h/r.git", Rule.BAD_SOURCE),  # a scheme git is not allowed to use
        ("https://h/r@-uupload-pack=x", Rule.BAD_SOURCE),  # a ref that reads as an option
        ("https://h/r@a..b", Rule.BAD_SOURCE),
        ("github:o/r#../../etc", Rule.PATH_ESCAPES),
        ("https://h/p.zip#sha256=abc", Rule.BAD_SOURCE),
        ("https:///nohost", Rule.BAD_SOURCE),
    ],
)
def test_unusable_remote_sources_are_refused_with_their_rule(text, rule):
    with pytest.raises(ValidationFailed) as caught:
        parse_remote(text)
    assert caught.value.rule == rule


def test_local_paths_are_not_remote():
    for text in ("plugins/x", "./a@b", "/srv/my@plugin", "C.zip", "name@host"):
        assert not looks_remote(text)


# Git repositories ----------------------------------------------------------------------


def test_a_repository_imports_at_its_head_and_records_the_commit(git_host):
    head = git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    report = import_paths(["github:acme/tools"])
    assert report.failed == [] and [r.plugin_name for r in report.results] == ["tools"]
    version = Version.objects.get(artifact__type="plugin")
    assert version.origin == {
        "kind": "git",
        "location": "https://github.com/acme/tools.git",
        "ref": None,
        "commit": head,
        "sha256": None,
        "path": None,
        "marketplace": None,
    }
    assert ImportRecord.objects.get().origin["commit"] == head


def test_tags_branches_and_commit_pins_select_the_content(git_host):
    first = git_host.publish("acme/tools", plugin_tree("tools", hello="one"), tag="v1")
    git_host.publish("acme/tools", plugin_tree("tools", hello="two"), branch="dev")
    git_host.publish("acme/tools", plugin_tree("tools", hello="three"))
    url = git_host.url("acme/tools")
    expected = {"v1": "one", "dev": "two", "main": "three", first: "one"}
    for ref, text in expected.items():
        (result,) = import_paths([f"{url}@{ref}"]).results
        child = Artifact.objects.get(type="command", name="hello")
        hashes = {v.content_hash for v in child.versions.all()}
        assert result.children[0].content_hash in hashes
        version = Version.objects.get(artifact__type="plugin", content_hash=result.plugin_hash)
        assert version.files.filter(path="commands/hello.md").exists()
        assert _command_text(result.children[0].content_hash) == text
    pinned = Version.objects.filter(artifact__type="plugin", origin_commit=first)
    assert pinned.exists()


def _command_text(content_hash):
    from blobstore import LocalBlobStore

    version = Version.objects.get(artifact__type="command", content_hash=content_hash)
    blob = version.files.get().blob_hash
    return LocalBlobStore().path_for(blob).read_text()


def test_a_subfolder_imports_only_that_folder(git_host):
    git_host.publish(
        "acme/mono",
        {
            **{f"plugins/a/{k}": v for k, v in plugin_tree("a", one="1").items()},
            **{f"plugins/b/{k}": v for k, v in plugin_tree("b", two="2").items()},
        },
    )
    report = import_paths([f"{git_host.url('acme/mono')}#plugins/b"])
    assert [r.plugin_name for r in report.results] == ["b"]
    assert set(Artifact.objects.values_list("name", flat=True)) == {"b", "two"}
    assert Version.objects.get(artifact__name="b").origin["path"] == "plugins/b"


def test_a_missing_repository_or_folder_fails_alone_and_writes_nothing(git_host):
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    before = database_snapshot()
    report = import_paths(["github:acme/nothing-here", "github:acme/tools#no/such/folder"])
    assert [(f.rule, f.path) for f in report.failed] == [
        (Rule.FETCH_FAILED, "https://github.com/acme/nothing-here.git"),
        (Rule.NOT_FOUND, "https://github.com/acme/tools.git#no/such/folder"),
    ]
    assert database_snapshot() == before
    assert ImportRecord.objects.filter(status="failed").count() == 2


def test_the_mirror_cache_makes_a_second_fetch_incremental(git_host, skillmeat_home):
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    import_paths(["github:acme/tools"])
    mirrors = list((skillmeat_home / "cache" / "git").glob("*.git"))
    assert len(mirrors) == 1
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi", extra="new"))
    (result,) = import_paths(["github:acme/tools"]).results
    assert result.children_imported == 1 and result.children_reused == 1
    assert list((skillmeat_home / "cache" / "git").glob("*.git")) == mirrors
    assert not list((skillmeat_home / "tmp").glob("git-*")), "checkouts are removed"


def test_credentials_in_a_url_are_used_and_appear_nowhere_afterwards(
    git_host, skillmeat_home, capfd
):
    git_host.publish("acme/private", plugin_tree("private", hello="hi"))
    status, out, err = run_command(
        "import_plugin", "https://user:s3cret-token@github.com/acme/private", "--json"
    )
    assert status == 0, err
    report = json.loads(out)
    assert [r["plugin_name"] for r in report["results"]] == ["private"]
    missing = import_paths(["https://user:s3cret-token@github.com/acme/gone"])
    assert missing.failed[0].rule == Rule.FETCH_FAILED
    captured = capfd.readouterr()
    everything = [
        out,
        err,
        captured.out,
        captured.err,
        json.dumps([f.__dict__ for f in missing.failed]),
        json.dumps(list(Version.objects.values()), default=str),
        json.dumps(list(ImportRecord.objects.values()), default=str),
    ]
    assert not any("s3cret-token" in text for text in everything)
    for path in skillmeat_home.rglob("*"):
        if path.is_file() and not path.name.startswith("db.sqlite3"):
            assert b"s3cret-token" not in path.read_bytes(), path
    assert Version.objects.get(artifact__type="plugin").origin_location == (
        "https://github.com/acme/private"
    )


def test_a_repository_over_the_size_limit_is_refused(git_host, settings):
    big = os.urandom(300_000).hex()  # incompressible
    git_host.publish("acme/big", {**plugin_tree("big"), "commands/big.md": big})
    settings.SKILLMEAT_MAX_TOTAL_BYTES = 100_000
    before = database_snapshot()
    (failure,) = import_paths(["github:acme/big"]).failed
    assert failure.rule == Rule.TOO_LARGE
    assert database_snapshot() == before


def test_a_git_server_that_never_answers_times_out(https_server, tmp_path):
    with silent_server() as port:
        report = import_paths([f"https://localhost:{port}/acme/r.git"], fetch_timeout=2)
    (failure,) = report.failed
    assert failure.rule == Rule.FETCH_FAILED
    assert "timed out after 2 s" in failure.message


# Archive URLs --------------------------------------------------------------------------


def test_an_archive_url_imports_with_its_digest_recorded(https_server):
    body = zipped(plugin_tree("zipped", hello="hi"))
    url = https_server.serve("/dl/zipped.zip", body)
    report = import_paths([url])
    assert report.failed == [] and report.results[0].plugin_name == "zipped"
    origin = Version.objects.get(artifact__type="plugin").origin
    import hashlib

    assert origin["kind"] == "url" and origin["sha256"] == hashlib.sha256(body).hexdigest()


def test_an_archive_pin_is_checked_on_the_bytes(https_server):
    body = zipped(plugin_tree("zipped", hello="hi"))
    url = https_server.serve("/dl/zipped.zip", body)
    (failure,) = import_paths([f"{url}#sha256={'0' * 64}"]).failed
    assert failure.rule == Rule.PIN_MISMATCH
    assert Artifact.objects.count() == 0


def test_archive_downloads_keep_to_https_the_size_limit_and_the_time_limit(https_server, settings):
    https_server.redirect("/away.zip", "http://localhost:1/plain.zip")
    (failure,) = import_paths([https_server.url("/away.zip")]).failed
    assert (failure.rule, "left https" in failure.message) == (Rule.FETCH_FAILED, True)
    (failure,) = import_paths([https_server.url("/missing.zip")]).failed
    assert (failure.rule, "HTTP 404" in failure.message) == (Rule.FETCH_FAILED, True)
    settings.SKILLMEAT_MAX_TOTAL_BYTES = 50_000
    big = https_server.serve("/big.zip", os.urandom(200_000))
    (failure,) = import_paths([big]).failed
    assert failure.rule == Rule.TOO_LARGE
    with silent_server() as port:
        (failure,) = import_paths([f"https://localhost:{port}/slow.zip"], fetch_timeout=1.5).failed
    assert failure.rule == Rule.FETCH_FAILED and "timed out" in failure.message
    assert Artifact.objects.count() == 0


# Marketplaces with remote entries ------------------------------------------------------


def every_kind_marketplace(git_host, https_server):
    git_host.publish("acme/gh", plugin_tree("gh-plugin", gh="gh"))
    pinned = git_host.publish("acme/url", plugin_tree("url-plugin", url="one"))
    git_host.publish("acme/url", plugin_tree("url-plugin", url="two"))
    git_host.publish(
        "acme/mono",
        {f"plugins/sub/{k}": v for k, v in plugin_tree("sub-plugin", sub="s").items()},
        host="gitlab.com",
    )
    archive = https_server.serve("/a.zip", zipped(plugin_tree("archive-plugin", arc="a")))
    return {
        **market(
            "everything",
            [
                {"name": "local", "source": "./local"},
                {"name": "gh", "source": {"source": "github", "repo": "acme/gh"}},
                {
                    "name": "url",
                    "source": {"source": "url", "url": git_host.url("acme/url"), "sha": pinned},
                },
                {
                    "name": "sub",
                    "source": {
                        "source": "git-subdir",
                        "url": git_host.url("acme/mono", "gitlab.com"),
                        "path": "plugins/sub",
                    },
                },
                {"name": "arc", "source": {"source": "archive", "url": archive}},
                {"name": "pkg", "source": {"source": "npm", "package": "@acme/pkg"}},
                {"name": "gone", "source": {"source": "github", "repo": "acme/gone"}},
                {
                    "name": "bad-pin",
                    "source": {"source": "github", "repo": "acme/gh", "sha": "f" * 40},
                },
            ],
        ),
        **{f"local/{k}": v for k, v in plugin_tree("local", loc="l").items()},
    }


def test_a_local_marketplace_fetches_remote_entries_only_when_asked(
    git_host, https_server, make_tree
):
    folder = make_tree(every_kind_marketplace(git_host, https_server))
    report = import_paths([folder])
    assert [r.plugin_name for r in report.results] == ["local"]
    assert {s.name: s.reason for s in report.skipped} == {
        "gh": "remote source; use --remote to fetch",
        "url": "remote source; use --remote to fetch",
        "sub": "remote source; use --remote to fetch",
        "arc": "remote source; use --remote to fetch",
        "gone": "remote source; use --remote to fetch",
        "bad-pin": "remote source; use --remote to fetch",
        "pkg": "npm source: npm packages are not fetched",
    }

    report = import_paths([folder], remote=True)
    assert sorted(r.plugin_name for r in report.results) == [
        "archive-plugin",
        "gh-plugin",
        "local",
        "sub-plugin",
        "url-plugin",
    ]
    assert {(f.name, f.rule) for f in report.failed} == {
        ("gone", Rule.FETCH_FAILED),
        ("bad-pin", Rule.PIN_MISMATCH),
    }
    url_child = Artifact.objects.get(name="url")
    assert _command_text(url_child.latest_version.content_hash) == "one", "the sha pin wins"
    origin = Version.objects.get(artifact__name="sub-plugin").origin
    assert origin["marketplace"] == {"name": "everything", "location": str(folder)}
    assert (origin["kind"], origin["path"]) == ("git", "plugins/sub")


def test_a_fetched_marketplace_fetches_its_entries_unless_told_not_to(git_host, https_server):
    tree = every_kind_marketplace(git_host, https_server)
    git_host.publish("acme/market", tree)
    status, out, err = run_command("import_plugin", "github:acme/market", "--no-remote", "--json")
    assert status == 0, err
    assert len(json.loads(out)["skipped"]) == 7
    status, out, err = run_command("import_plugin", "github:acme/market", "--json")
    assert status == 1
    document = json.loads(out)
    assert len(document["results"]) == 5 and len(document["failed"]) == 2
    local = Version.objects.get(artifact__name="local").origin
    assert local["kind"] == "git" and local["path"] == "local"
    assert local["marketplace"] == {
        "name": "everything",
        "location": "https://github.com/acme/market.git",
    }
    assert "error: gone: https://github.com/acme/gone.git" in err


def test_a_real_marketplace_mirrored_with_remote_entries_imports_every_reachable_plugin(
    git_host, tmp_path
):
    from tests.test_corpus import CORPUS

    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    document = json.loads((CORPUS / ".claude-plugin/marketplace.json").read_text())
    tree = {
        str(path.relative_to(CORPUS)): path.read_bytes()
        for path in CORPUS.rglob("*")
        if path.is_file()
    }
    plugins = document["plugins"]
    for index, entry in enumerate(plugins):
        folder = entry["source"].removeprefix("./")
        if index % 3 == 0:  # its own repository
            own = {k[len(folder) + 1 :]: v for k, v in tree.items() if k.startswith(f"{folder}/")}
            git_host.publish(f"plugins/{entry['name']}", own)
            entry["source"] = {"source": "github", "repo": f"plugins/{entry['name']}"}
        elif index % 3 == 1:  # a subfolder of the marketplace's repository
            entry["source"] = {
                "source": "git-subdir",
                "url": git_host.url("anthropics/claude-code"),
                "path": folder,
            }
    plugins.append({"name": "unreachable", "source": {"source": "github", "repo": "x/gone"}})
    tree[".claude-plugin/marketplace.json"] = json.dumps(document)
    git_host.publish("anthropics/claude-code", tree)

    report = import_paths(["https://github.com/anthropics/claude-code@main"])
    assert [(f.name, f.rule) for f in report.failed] == [("unreachable", Rule.FETCH_FAILED)]
    assert len(report.results) == len(plugins) - 1
    local = import_paths([write_tree(tmp_path / "m", {})]).results  # nothing there
    assert local == []
    for result in report.results:
        version = Version.objects.get(content_hash=result.plugin_hash, artifact__type="plugin")
        entry_folder = CORPUS / "plugins" / result.plugin_name
        if entry_folder.is_dir() and not (entry_folder / ".claude-plugin/plugin.json").exists():
            continue
        assert version.origin["kind"] == "git"


def test_import_plugin_from_a_file_url_of_a_local_repository(git_host, tmp_path):
    git_host.publish("acme/tools", plugin_tree("tools", hello="hi"))
    bare = git_host.bare("acme/tools")
    status, out, err = run_command("import_plugin", f"file://{bare}@main")
    assert status == 0, err
    assert "tools" in out
    assert hash_directory(git_host.work / "github.com/acme/tools") == (
        Version.objects.get(artifact__type="plugin").content_hash
    )
    make_zip(tmp_path / "unused.zip", {})


# What git must never do ----------------------------------------------------------------


def test_git_runs_no_hooks_no_lfs_filters_and_no_submodules(git_host, tmp_path):
    marker = tmp_path / "hook-ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("reference-transaction", "post-checkout", "post-index-change"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / hook).chmod(0o755)
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 9\n"
    tree = {
        **plugin_tree("tools", hello="hi"),
        ".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
        "skills/s/SKILL.md": "---\nname: s\n---\n",
        "skills/s/data.bin": pointer,
        ".gitmodules": '[submodule "vendor"]\n\tpath = vendor\n\turl = https://github.com/x/y\n',
    }
    commit = git_host.publish("acme/tools", tree)
    work = git_host.work / "github.com/acme/tools"
    from tests.remotes import git

    git("-C", str(work), "update-index", "--add", "--cacheinfo", f"160000,{commit},vendor")
    git("-C", str(work), "commit", "--quiet", "-m", "a submodule")
    bare = str(git_host.bare("acme/tools"))
    git("-C", str(work), "push", "--quiet", bare, "HEAD:refs/heads/main")
    config = tmp_path / "git-host" / "gitconfig"  # the operator's, as a fetch finds it
    config.write_text(
        config.read_text()
        + f"[core]\n\thooksPath = {hooks}\n"
        + "[filter \"lfs\"]\n\tsmudge = sh -c 'echo SMUDGED'\n\trequired = true\n"
    )

    report = import_paths(["github:acme/tools"])
    assert report.failed == [], report.failed
    assert not marker.exists(), "no hook ran"
    skill = Version.objects.get(artifact__type="skill")
    data = skill.files.get(path="data.bin")
    from blobstore import LocalBlobStore

    assert LocalBlobStore().path_for(data.blob_hash).read_text() == pointer
    plugin = Version.objects.get(artifact__type="plugin")
    assert not plugin.files.filter(path__startswith="vendor").exists()
