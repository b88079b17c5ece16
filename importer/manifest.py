"""A plugin's manifest (DESIGN section 2, Claude Code's rules): ``plugin.json`` checked key by
key, merged with what a marketplace entry declares, and the component declarations that
decide where its children are.

A known key of the wrong type stops Claude Code loading the plugin, so it is ``bad_manifest``
naming the key. A ``strict: true`` entry's component fields add to plugin.json's; a
``strict: false`` entry is the manifest, and a plugin.json that also declares components is
``bad_manifest``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from importer.errors import Rule, UnsafePath, ValidationFailed

COMPONENT_KEYS = ("commands", "agents", "skills", "hooks", "mcpServers")
# Keys Claude Code reads as paths (or lists of them), and those that may also be inline objects.
PATH_KEYS = frozenset({"commands", "agents", "skills", "outputStyles"})
CONFIG_KEYS = frozenset({"hooks", "mcpServers", "lspServers"})
DECLARING_KEYS = (*COMPONENT_KEYS, "outputStyles", "lspServers")
STRING_KEYS = frozenset({"name", "version", "description", "homepage", "repository", "license"})


@dataclass
class Declarations:
    """What a plugin declares for each component key: clean relative paths and inline
    objects, from plugin.json and a marketplace entry together."""

    paths: dict[str, list[str]] = field(default_factory=dict)
    inline: dict[str, list[tuple[Mapping[str, Any], str]]] = field(default_factory=dict)

    def declares(self, key: str) -> bool:
        return key in self.paths or key in self.inline

    def add(self, document: Mapping[str, Any], where: str) -> None:
        for key in DECLARING_KEYS:
            if key not in document:
                continue
            for value in _as_list(document[key]):
                if isinstance(value, Mapping):
                    self.inline.setdefault(key, []).append((value, f"{where}#{key}"))
                else:
                    path = relative_component_path(value, key=key, where=where)
                    self.paths.setdefault(key, []).append(path)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_manifest_types(document: Mapping[str, Any], where: str) -> None:
    """Refuse a known key of the wrong type (``"commands": 123``), naming the key."""
    for key, value in document.items():
        expected = _expected_type(key, value)
        if expected:
            raise ValidationFailed(
                f"{key!r} must be {expected}, not {_json_type(value)}",
                path=f"{where}#{key}",
                rule=Rule.BAD_MANIFEST,
            )


def _expected_type(key: str, value: Any) -> str | None:
    if key in STRING_KEYS and not isinstance(value, str):
        return "a string"
    if key == "keywords" and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return "a list of strings"
    if key == "author" and not isinstance(value, Mapping | str):
        return "an object"
    if key in PATH_KEYS and not _is_paths(value):
        return "a path or a list of paths"
    if key in CONFIG_KEYS and not _is_config(value):
        return "a path, a list of paths, or an object"
    return None


def _is_paths(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


def _is_config(value: Any) -> bool:
    return isinstance(value, str | Mapping) or (
        isinstance(value, list) and all(isinstance(v, str | Mapping) for v in value)
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return "an object"


def relative_component_path(value: object, *, key: str, where: str) -> str:
    """A declared component path (``./commands``) as a clean path relative to the plugin
    ("" for the plugin root itself, ``"."`` or ``"./"``)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            f"{key} path must be a non-empty string", path=where, rule=Rule.BAD_MANIFEST
        )
    if value.startswith("/") or "\\" in value or (len(value) > 1 and value[1] == ":"):
        raise UnsafePath(f"{key} path {value!r} is absolute", path=where, rule=Rule.PATH_ESCAPES)
    parts = PurePosixPath(value).parts
    if ".." in parts:
        raise UnsafePath(f"{key} path {value!r} contains '..'", path=where, rule=Rule.PATH_ESCAPES)
    clean = PurePosixPath(*[p for p in parts if p != "."]) if parts else PurePosixPath()
    return str(clean) if str(clean) != "." else ""


def component_paths(value: object, *, key: str, where: str) -> list[str]:
    """The paths a declaration names: a string or a list of them (inline objects skipped)."""
    if value is None:
        return []
    return [
        relative_component_path(v, key=key, where=where)
        for v in _as_list(value)
        if not isinstance(v, Mapping)
    ]


def declared_components(document: Mapping[str, Any]) -> list[str]:
    return [key for key in COMPONENT_KEYS if key in document]
