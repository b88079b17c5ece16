"""Template filters of the admin pages."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

LINE_CLASSES = (("+++", ""), ("---", ""), ("+", "added"), ("-", "removed"), ("@@", "hunk"))


@register.filter
def diff_lines(diff: str) -> SafeString:
    """A unified diff with added, removed and hunk lines marked for colour."""
    return format_html_join("", "{}", ((_line(line),) for line in diff.splitlines(keepends=True)))


def _line(line: str) -> SafeString:
    for prefix, css in LINE_CLASSES:
        if line.startswith(prefix):
            if not css:
                break
            return format_html('<span class="{}">{}</span>', css, line)
    return format_html("{}", line)
