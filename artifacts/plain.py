"""Rows read straight off the database cursor, and their values in the API's text forms.

A list of a thousand rows (an artifact page, the parents of a shared child) spends more in
Django's per-value converters (a UUID and a datetime object built for every column of every
row) than in its query. These rows keep what the driver gives: on SQLite, UUIDs as 32 hex
digits and datetimes as naive UTC datetimes (or their stored text, ``YYYY-MM-DD HH:MM:SS``);
on PostgreSQL, the driver's own UUID and datetime objects; JSON as text on both. The API
turns each value into its text form once, with the functions below, which accept the
converted objects of an ordinary queryset too.
"""

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


def fetch(queryset: QuerySet) -> list[dict[str, Any]]:
    """The rows of a ``values()`` queryset as dicts, without converters."""
    query = queryset.query
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    return [dict(zip(names, row, strict=True)) for row in fetch_tuples(queryset)]


def fetch_tuples(queryset: QuerySet) -> list[tuple[Any, ...]]:
    """The rows of a ``values()`` or ``values_list()`` queryset as tuples, in the order of
    its fields, without converters."""
    try:
        sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:
        return []
    return run(sql, params, queryset.db)


def run(sql: str, params: Sequence[Any], using: str) -> list[tuple[Any, ...]]:
    """The rows of compiled SQL on the database ``using``, as the driver gives them."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def uuid_text(value: uuid.UUID | str | None) -> str | None:
    """A UUID in its canonical dashed form."""
    if value is None or isinstance(value, uuid.UUID):
        return None if value is None else str(value)
    if len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value


def uuid_key(value: uuid.UUID | str) -> str:
    """A UUID as 32 hex digits, to compare ids of either backend without making text."""
    return value if isinstance(value, str) else value.hex


def uuid_value(value: uuid.UUID | str | None) -> uuid.UUID | None:
    """A UUID as Django's converters give it (SQLite's 32 hex digits parsed)."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(value)


def iso_text(value: datetime | str) -> str:
    """A UTC datetime as DRF writes it: ISO 8601 with ``Z`` (microseconds when there are)."""
    if isinstance(value, str):
        return value.replace(" ", "T", 1) + "Z"
    text = value.isoformat()
    if value.tzinfo is None:  # SQLite's driver parses the stored UTC text into naive ones
        return text + "Z"
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def json_value(value: Any) -> Any:
    """A JSON column's value: parsed when the driver handed over its text."""
    return json.loads(value) if isinstance(value, str) else value
