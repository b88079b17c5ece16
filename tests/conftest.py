"""Shared fixtures: a private storage root per test and a factory for real file trees."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

TreeSpec = dict[str, "bytes | str | tuple[bytes | str, int]"]


def write_tree(root: Path, spec: TreeSpec) -> Path:
    """Write files under ``root``: ``{"a/b.md": "text", "run.sh": ("#!/bin/sh", 0o755)}``."""
    for relative, content in spec.items():
        mode = 0o644
        if isinstance(content, tuple):
            content, mode = content
        data = content.encode() if isinstance(content, str) else content
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(spec: TreeSpec, name: str | None = None) -> Path:
        return write_tree(tmp_path / "trees" / (name or f"tree{next(counter)}"), spec)

    return make


@pytest.fixture(autouse=True)
def skillmeat_home(tmp_path: Path, settings) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    settings.SKILLMEAT_HOME = home
    return home
