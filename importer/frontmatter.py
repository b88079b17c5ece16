"""Frontmatter of skills, commands and agents, read at a bounded cost (DESIGN section 2).

At most 64 KiB of YAML is read; aliases are counted as the content they would expand to, so
a "billion laughs" document or a recursive anchor costs nothing; dates stay text; and values
that JSON (hence the database) cannot hold are refused. Every refusal is a warning naming the
file: the file itself is still imported, with empty metadata.
"""

import math
from collections.abc import Iterator
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from importer.jsondoc import json_value_problem

MAX_FRONTMATTER_BYTES = 64 * 1024
# What the aliases of a document may expand to: scalar characters plus one per node.
MAX_EXPANDED_SIZE = 2 * MAX_FRONTMATTER_BYTES
MAX_NESTING = 64
MAX_INTEGER = 2**63 - 1

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _JsonishLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader without the timestamp type: a ``date:`` stays the text it was."""


_JsonishLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class FrontmatterRefused(ValueError):  # noqa: N818 - read as "the frontmatter was refused"
    pass


def read_frontmatter(data: bytes, location: str, warnings: list[str]) -> dict[str, Any]:
    """The frontmatter of a Markdown file as a JSON-safe mapping ({} when there is none or
    it cannot be used; a warning then says why)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        warnings.append(f"{location}: not UTF-8 text; no frontmatter read")
        return {}
    if not text.startswith("---"):
        if location.endswith("SKILL.md"):
            warnings.append(f"{location}: no frontmatter")
        return {}
    try:
        return parse_frontmatter(text)
    except FrontmatterRefused as refused:
        warnings.append(f"{location}: frontmatter {refused}; its metadata is left empty")
        return {}


def parse_frontmatter(text: str) -> dict[str, Any]:
    try:
        block, _ = YAMLHandler().split(text)
    except ValueError:
        raise FrontmatterRefused("has no closing '---' line") from None
    if len(block.encode("utf-8")) > MAX_FRONTMATTER_BYTES:
        raise FrontmatterRefused(f"is larger than {MAX_FRONTMATTER_BYTES // 1024} KiB")
    loader = _JsonishLoader(block)  # parsed once: the checked node is what is constructed
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_expansion(node)
        value = loader.construct_document(node)
    except (yaml.YAMLError, RecursionError) as error:
        raise FrontmatterRefused(f"is not valid YAML ({type(error).__name__})") from None
    finally:
        loader.dispose()
    return _as_metadata(value)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse recursive anchors and documents whose aliases expand past the budget."""
    sizes: dict[int, int] = {}
    for node, depth in _post_order(root):
        if depth > MAX_NESTING:
            raise FrontmatterRefused(f"is nested deeper than {MAX_NESTING} levels")
        sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node)) + _own(node)
        if sizes[id(node)] > MAX_EXPANDED_SIZE:
            raise FrontmatterRefused("expands (through YAML aliases) past the size limit")


def _own(node: yaml.Node) -> int:
    return len(node.value) if isinstance(node, yaml.ScalarNode) else 0


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _post_order(root: yaml.Node) -> Iterator[tuple[yaml.Node, int]]:
    """Each node after its children (shared nodes once); a node met again while its own
    children are being visited is a recursive anchor."""
    done: set[int] = set()
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if expanded:
            open_nodes.discard(id(node))
            done.add(id(node))
            yield node, depth
            continue
        if id(node) in done:
            continue
        if id(node) in open_nodes:
            raise FrontmatterRefused("holds a recursive YAML anchor")
        open_nodes.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _as_metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FrontmatterRefused("is not a mapping of keys to values")
    metadata = _jsonable(value)
    problem = json_value_problem(metadata)
    if problem:
        raise FrontmatterRefused(problem)
    return metadata


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise FrontmatterRefused("holds an integer too large for JSON")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FrontmatterRefused("holds NaN or an infinite number")
        return value
    raise FrontmatterRefused(f"holds a value JSON cannot hold ({type(value).__name__})")


def _key(key: Any) -> str:
    if isinstance(key, str | int | float | bool) or key is None:
        return key if isinstance(key, str) else str(key)
    raise FrontmatterRefused(f"has a key JSON cannot hold ({type(key).__name__})")
