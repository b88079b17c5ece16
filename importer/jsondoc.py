"""Strict reading of the JSON documents a plugin brings (plugin.json, marketplace.json,
.mcp.json): whatever the database or Claude Code could not hold is refused as ``bad_json``
with the document's path, never met later as a database error."""

import json
import math
from collections.abc import Iterator
from typing import Any

from importer.errors import Rule, ValidationFailed

MAX_JSON_DEPTH = 64


def loads_document(data: bytes, where: str) -> Any:
    """Parse ``data``; refuse NaN/Infinity, NUL characters, lone surrogates and nesting past
    :data:`MAX_JSON_DEPTH` levels."""
    try:
        document = json.loads(data, parse_constant=_refuse_constant)
    except _NotJsonError as error:
        raise ValidationFailed(str(error), path=where, rule=Rule.BAD_JSON) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationFailed(f"not valid JSON: {error}", path=where, rule=Rule.BAD_JSON) from None
    except RecursionError:
        raise ValidationFailed(_too_deep(), path=where, rule=Rule.BAD_JSON) from None
    problem = json_value_problem(document)
    if problem:
        raise ValidationFailed(problem, path=where, rule=Rule.BAD_JSON)
    return document


def json_value_problem(value: Any) -> str | None:
    """Why a parsed value cannot be stored as JSON by every database we run on, or None."""
    for item, depth in _walk(value):
        if depth > MAX_JSON_DEPTH:
            return _too_deep()
        if isinstance(item, float) and not math.isfinite(item):
            return "holds NaN or an infinite number, which JSON does not allow"
        if isinstance(item, str):
            problem = _string_problem(item)
            if problem:
                return problem
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (\\u0000) in a string"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (an invalid \\uD800-\\uDFFF escape) in a string"
    return None


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value and key in ``value`` with its nesting depth, without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        yield item, depth
        if depth > MAX_JSON_DEPTH:
            return
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)


class _NotJsonError(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJsonError(f"holds {name}, which JSON does not allow")


def _too_deep() -> str:
    return f"nested deeper than {MAX_JSON_DEPTH} levels"
