"""An import's rows written with one prepared statement per table and transaction.

The ORM's ``bulk_create`` compiles every value of every row through its field and builds one
long statement per batch; for the few hundred small rows of a plugin that costs more than the
database's own work. Here each column's conversion is chosen once per call: values that are
already what the driver takes (text, numbers, booleans) pass as they are, the others (UUIDs,
dates, JSON) go through the field's own ``get_db_prep_save``.
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import connection, models

Convert = Callable[[Any], Any]

# Fields whose Python value the database drivers take unchanged.
PLAIN_FIELDS = (
    models.CharField,  # TextField, SlugField, ... are CharField or TextField subclasses
    models.TextField,
    models.IntegerField,  # PositiveIntegerField, BigIntegerField, ...
    models.BooleanField,
    models.FloatField,
)


def insert_values(
    model: type[models.Model], attnames: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT rows given as values of the fields ``attnames`` (``version_id``, not
    ``version``), in one ``executemany``; no model instance is built. A field left out
    must be one the database fills in (an auto key)."""
    _execute_many(_insert(connection.vendor, model, tuple(attnames)), rows)


def insert_row(model: type[models.Model], **values: Any) -> None:
    """INSERT one row: the values given (by attname), every other field its default; like
    ``objects.create`` without building an instance."""
    fields = model._meta.concrete_fields
    row = [values.pop(f.attname) if f.attname in values else f.get_default() for f in fields]
    if values:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(values)}")
    insert_values(model, [f.attname for f in fields], [row])


def update_values(
    model: type[models.Model], attnames: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """UPDATE the fields ``attnames`` by primary key: each row holds their values and then
    the key, in one ``executemany``."""
    _execute_many(_update(connection.vendor, model, tuple(attnames)), rows)


@dataclass(frozen=True)
class _Statement:
    """A statement of one table and its columns, made once per process: its SQL, its
    fields in the order of its values, and the positions of the values to convert."""

    sql: str
    fields: tuple[models.Field, ...]
    converted: tuple[int, ...]


@functools.cache
def _insert(vendor: str, model: type[models.Model], attnames: tuple[str, ...]) -> _Statement:
    meta = model._meta
    fields = _fields(meta, attnames)
    columns = ", ".join(_quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {_quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
    return _statement(sql, fields)


@functools.cache
def _update(vendor: str, model: type[models.Model], attnames: tuple[str, ...]) -> _Statement:
    meta = model._meta
    fields = _fields(meta, attnames)
    assignments = ", ".join(f"{_quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {_quote(meta.db_table)} SET {assignments} WHERE {_quote(meta.pk.column)} = %s"
    return _statement(sql, [*fields, meta.pk])


def _fields(meta: Any, attnames: Sequence[str]) -> list[models.Field]:
    by_attname = {field.attname: field for field in meta.concrete_fields}
    return [by_attname[name] for name in attnames]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _statement(sql: str, fields: Sequence[models.Field]) -> _Statement:
    converted = tuple(i for i, field in enumerate(fields) if not _plain(field))
    return _Statement(sql, tuple(fields), converted)


def _execute_many(statement: _Statement, rows: Sequence[Sequence[Any]]) -> None:
    """Run the statement once per row, each value converted for its field's column."""
    if not rows:
        return
    width = len(statement.fields)
    if any(len(row) != width for row in rows):
        raise ValueError(f"each row must hold {width} values: {statement.sql}")
    converting = [(i, _converter(statement.fields[i])) for i in statement.converted]
    values = [_converted(row, converting) for row in rows] if converting else rows
    with connection.cursor() as cursor:
        cursor.executemany(statement.sql, values)


def _converted(row: Sequence[Any], converting: list[tuple[int, Convert]]) -> list[Any]:
    """``row`` with the values at the given positions converted (the others as they are)."""
    values = list(row)
    for position, convert in converting:
        values[position] = convert(values[position])
    return values


def _target(field: models.Field) -> models.Field:
    return field.target_field if isinstance(field, models.ForeignKey) else field


def _plain(field: models.Field) -> bool:
    """Its values go to the driver as they are."""
    target = _target(field)
    if isinstance(target, models.UUIDField):
        return connection.features.has_native_uuid_field
    return isinstance(target, PLAIN_FIELDS)


def _converter(field: models.Field) -> Convert:
    target = _target(field)
    if isinstance(target, models.DateTimeField):
        return _memoized(field)  # the rows of an import share their timestamps
    if isinstance(target, models.UUIDField):
        return _uuid_hex

    def convert(value: Any) -> Any:
        return None if value is None else field.get_db_prep_save(value, connection)

    return convert


def _memoized(field: models.Field) -> Convert:
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if value not in cache:
            cache[value] = field.get_db_prep_save(value, connection)
        return cache[value]

    return convert


def _uuid_hex(value: Any) -> Any:
    """How Django stores a UUID where the database has no UUID type (32 hex digits)."""
    if value is None:
        return None
    return value.hex if isinstance(value, UUID) else UUID(value).hex
