"""What the admin pages share: read-only model admins, tables, short hashes with the full value
on hover and a copy control, drift in words, links to artifacts."""

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from artifacts import selectors

SHORT_HASH = 12
# The stylesheet and script every page of ours includes (copy controls, narrow tables).
MEDIA = forms.Media(css={"all": ["skillmeat/admin.css"]}, js=["skillmeat/admin.js"])


class ReadOnlyMixin:
    """Rows written by the import service only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> SafeString:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    if not body:
        return format_html("<p>{}</p>", "None.")
    return format_html(
        '<table class="skillmeat-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )


def short_hash(value: str | None) -> SafeString:
    """The first 12 characters, the full hash on hover and behind a copy control."""
    if not value:
        return format_html("{}", "-")
    return format_html(
        '<span class="hash"><code title="{}">{}</code>'
        '<button type="button" class="copy-hash" data-hash="{}" title="Copy the full hash" '
        'aria-label="Copy the full hash">copy</button></span>',
        value,
        value[:SHORT_HASH],
        value,
    )


def with_count(shown_table: SafeString, shown: int, total: int) -> SafeString:
    """A table, and a line saying so when it shows only the first part of a long list."""
    if shown >= total:
        return shown_table
    return format_html(
        "{}<p>The first {} of {} (the API pages through all of them).</p>",
        shown_table,
        shown,
        total,
    )


def drift(item: selectors.AssociationItem, plugin: str | None = None) -> SafeString:
    """Drift in words: whose newer version it is, never a bare alarm. ``plugin`` is the plugin
    whose children are listed (None when a child's parents are)."""
    if not item.drifted:
        return format_html('<span class="in-sync">{}</span>', "current")
    others = [name for name in item.latest_from if name != plugin]
    if plugin is not None and plugin in item.latest_from:
        words = f"an update: newer in {plugin}"
    elif others:
        words = "newer in " + ", ".join(others)
    else:
        words = "newer version imported on its own"
    return format_html('<span class="drifted">{}</span>', words)


def link_to(obj: Model, text: Any) -> SafeString:
    """A link to the admin page of ``obj``."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


def link_by(item: selectors.AssociationItem) -> SafeString:
    url = reverse("admin:artifacts_artifact_change", args=[item.artifact_id])
    return format_html('<a href="{}">{}</a>', url, item.artifact_name)


def child_name(item: selectors.AssociationItem, plugin: str) -> SafeString:
    """A child's name with, for a skill, how Claude Code invokes it when that differs."""
    link = link_by(item)
    if item.invocation_name and item.invocation_name != item.artifact_name:
        return format_html(
            '{} <span class="invocation" title="the skill\'s frontmatter name">/{}:{}</span>',
            link,
            plugin,
            item.invocation_name,
        )
    return link


def children_rows(
    items: Iterable[selectors.AssociationItem], plugin: str, *, relationship: bool = True
) -> list[tuple[Any, ...]]:
    """The rows of a plugin's children table."""
    return [
        (
            i.position,
            child_name(i, plugin),
            i.artifact_type,
            *((i.relationship_type,) if relationship else ()),
            short_hash(i.pinned_version_hash),
            short_hash(i.current_version_hash),
            drift(i, plugin),
        )
        for i in items
    ]
