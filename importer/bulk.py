"""An import's rows written with one prepared statement per table and transaction.

The ORM's ``bulk_create`` compiles every value of every row through its field and builds one
long statement per batch; for the few hundred small rows of a plugin that costs more than the
database's own work. Here each column's conversion is chosen once per call: values that are
already what the driver takes (text, numbers, booleans) pass as they are, the others (UUIDs,
dates, JSON) go through the field's own ``get_db_prep_save``.
"""

from collections.abc import Callable, Sequence
from typing import Any

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


def insert_rows(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """INSERT ``rows`` (unsaved instances of ``model``) in one ``executemany``. Primary keys
    the rows do not set (auto fields) are left to the database and not read back."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not _left_to_database(f, rows[0])]
    attnames = [field.attname for field in fields]
    insert_values(model, attnames, [[getattr(row, name) for name in attnames] for row in rows])


def insert_values(
    model: type[models.Model], attnames: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT rows given as values of the fields ``attnames`` (``version_id``, not
    ``version``), in one ``executemany``; no model instance is built."""
    if not rows:
        return
    meta = model._meta
    by_attname = {field.attname: field for field in meta.concrete_fields}
    fields = [by_attname[name] for name in attnames]
    converters = [_converter(field) for field in fields]
    values = [
        [convert(value) for convert, value in zip(converters, row, strict=True)] for row in rows
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def update_rows(
    model: type[models.Model], rows: Sequence[models.Model], field_names: Sequence[str]
) -> None:
    """UPDATE the named fields of ``rows`` by primary key, in one ``executemany``."""
    if not rows:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    converters = [_converter(field) for field in (*fields, meta.pk)]
    attnames = [field.attname for field in (*fields, meta.pk)]
    values = [
        [convert(getattr(row, name)) for convert, name in zip(converters, attnames, strict=True)]
        for row in rows
    ]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _left_to_database(field: models.Field, sample: models.Model) -> bool:
    return isinstance(field, models.AutoField) and getattr(sample, field.attname) is None


def _converter(field: models.Field) -> Convert:
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, PLAIN_FIELDS):
        return _as_is
    if isinstance(target, models.DateTimeField):
        return _memoized(field)  # the rows of an import share their timestamps
    if isinstance(target, models.UUIDField):
        return _as_is if connection.features.has_native_uuid_field else _uuid_hex

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


def _as_is(value: Any) -> Any:
    return value


def _uuid_hex(value: Any) -> Any:
    """How Django stores a UUID where the database has no UUID type (32 hex digits)."""
    return None if value is None else value.hex
