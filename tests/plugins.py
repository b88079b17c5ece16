"""Plugin trees for the importer's tests, written for this project: each test builds the
variation it needs from these dictionaries with ``write_tree``."""

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

from django.db import models

from artifacts.models import (
    Artifact,
    ArtifactAssociation,
    Collection,
    ImportRecord,
    Version,
    VersionFile,
)
from tests.conftest import file_spec


def manifest(name: str, **extra: object) -> str:
    return json.dumps({"name": name, **extra}, indent=2)


HOOKS_JSON = json.dumps(
    {
        "hooks": {
            "PreToolUse": [
                {"hooks": [{"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/hooks/check.sh"}]}
            ]
        }
    }
)

MCP_SERVERS = {
    "notes": {"command": "npx", "args": ["-y", "notes-server"], "env": {"TOKEN": "secret"}},
    "google calendar": {
        "type": "http",
        "url": "https://calendar.example/mcp",
        "headers": {"Authorization": "Bearer x"},
    },
}


def full_plugin(name: str = "toolbox", **overrides: object) -> dict:
    """A plugin with every kind of child, meta-files, an executable script and a binary file."""
    tree = {
        ".claude-plugin/plugin.json": manifest(name, version="1.2.0", description="Tools."),
        "README.md": f"# {name}\n",
        "LICENSE": "MIT\n",
        "scripts/setup.sh": ("#!/bin/sh\necho setup\n", 0o755),
        "commands/greet.md": "---\ndescription: Say hello\n---\nHello!\n",
        "commands/git/commit.md": "---\ndescription: Commit\n---\nCommit the changes.\n",
        "agents/reviewer.md": "---\nname: reviewer\ndescription: Reviews code\n---\nReview.\n",
        "skills/pdf/SKILL.md": "---\nname: pdf\ndescription: Read PDFs\n---\nUse the scripts.\n",
        "skills/pdf/scripts/extract.py": ("#!/usr/bin/env python3\nprint('pdf')\n", 0o755),
        "skills/pdf/assets/logo.png": bytes(range(256)) * 4,
        "skills/xlsx/SKILL.md": "# xlsx\nNo frontmatter here.\n",
        "hooks/hooks.json": HOOKS_JSON,
        "hooks/check.sh": ("#!/bin/sh\nexit 0\n", 0o755),
        ".mcp.json": json.dumps({"mcpServers": MCP_SERVERS}),
    }
    tree.update(overrides)
    return {k: v for k, v in tree.items() if v is not None}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def storage_snapshot(home: Path) -> dict[str, tuple[str, int]]:
    """Every file under objects/ and collections/ with its hash and mode."""
    snapshot = {}
    for top in ("objects", "collections"):
        base = home / top
        if not base.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            for dirname in dirnames:
                snapshot[os.path.relpath(os.path.join(dirpath, dirname), home) + "/"] = ("", 0)
            for filename in filenames:
                path = Path(dirpath) / filename
                snapshot[str(path.relative_to(home))] = (sha256_of(path), path.stat().st_mode)
    return snapshot


DATA_MODELS: tuple[type[models.Model], ...] = (
    Collection,
    Artifact,
    Version,
    VersionFile,
    ArtifactAssociation,
)


def database_snapshot() -> dict[str, list[dict]]:
    """Every row of every table the import writes (not the import history)."""
    return {
        model.__name__: sorted(
            (dict(row) for row in model.objects.values()), key=lambda row: str(row["id"])
        )
        for model in DATA_MODELS
    }


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (*DATA_MODELS, ImportRecord)}


def make_zip(path: Path, members: dict, *, unix: bool = True) -> Path:
    """A zip of ``{name: bytes|str|(content, mode)}``; Unix modes recorded when ``unix``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in members.items():
            data, mode = file_spec(content)
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3 if unix else 0
            info.external_attr = ((0o100000 | mode) << 16) if unix else 0
            bundle.writestr(info, data)
    return path


def make_tar(path: Path, members: dict) -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        for name, content in members.items():
            data, mode = file_spec(content)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            bundle.addfile(info, io.BytesIO(data))
    return path


def synthetic_plugin(name: str, children: int, *, variant: str = "") -> dict:
    """A plugin of ``children`` children spread over every type (for query counts and speed);
    child names start with the plugin's name, so two synthetic plugins share nothing."""
    tree: dict = {".claude-plugin/plugin.json": manifest(name, version="1.0.0")}
    servers = {}
    for index in range(children):
        child = f"{name}-{index}"
        kind = index % 4
        if kind == 0:
            tree[f"commands/{child}.md"] = (
                f"---\ndescription: command {index}\n---\nDo {index}{variant}.\n"
            )
        elif kind == 1:
            tree[f"agents/{child}.md"] = f"---\nname: {child}\n---\nAgent {index}{variant}.\n"
        elif kind == 2:
            tree[f"skills/{child}/SKILL.md"] = f"---\nname: {child}\n---\nSkill {index}{variant}.\n"
            tree[f"skills/{child}/scripts/run.sh"] = (f"#!/bin/sh\necho {index}\n", 0o755)
        else:
            servers[child] = {"command": "npx", "args": [f"server-{index}{variant}"]}
    if servers:
        tree[".mcp.json"] = json.dumps({"mcpServers": servers})
    return tree
