"""Queries an import runs once per plugin, compiled by the ORM once per shape.

Building and compiling a queryset costs more than the database's own work for the few dozen
rows of a plugin. A :class:`Reusable` query compiles its queryset the first time it meets a
shape (the lengths of its IN lists, the database) and runs that SQL again with the next
values; its rows are the driver's plain tuples (no converters, see :mod:`artifacts.plain`).
A queryset whose compiled parameters are not its arguments' values in order (the ORM
converted or dropped some) is never reused, only run.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet

from artifacts import plain

Argument = Any  # a single value, or a list for an IN lookup


class Reusable:
    """``build(*arguments)`` returns the queryset; lists among the arguments are IN lists.
    Its conditions must take the arguments in their order: one ``filter()`` each, chained
    (the ORM sorts the keywords of a single ``filter()`` call by name)."""

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self._build = build
        self._compiled: dict[tuple, str] = {}

    @property
    def shapes(self) -> int:
        """How many shapes it has compiled for reuse."""
        return len(self._compiled)

    def rows(self, *arguments: Argument, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
        shape = (using, *(len(a) if isinstance(a, list) else -1 for a in arguments))
        values = [v for a in arguments for v in (a if isinstance(a, list) else [a])]
        sql = self._compiled.get(shape)
        if sql is None:
            return self._first(shape, arguments, values, using)
        return plain.run(sql, values, using)

    def _first(
        self, shape: tuple, arguments: Sequence[Argument], values: list, using: str
    ) -> list[tuple]:
        queryset = self._build(*arguments).using(using)
        try:
            sql, params = queryset.query.get_compiler(using=using).as_sql()
        except EmptyResultSet:
            return []
        if list(params) == values and shape not in self._compiled:
            self._compiled[shape] = sql
        return plain.run(sql, params, using)
