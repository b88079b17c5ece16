"""``manage.py check_updates``: whether the origin of each plugin's latest version moved
(DESIGN section 11); with ``--import``, import what moved. Exit status: 0 when every plugin was
checked (and, with ``--import``, every update imported), 1 when any origin was unreachable or an
update failed to import, 2 on usage errors."""

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from artifacts.models import UpdateState, normalize_name
from importer.management.commands.import_plugin import failure_line, result_headline
from importer.updates import PluginUpdate, check_updates, import_updates, plugins_to_check
from skillmeat_site.cli import SkillmeatCommand

SHORT = 12


class Command(SkillmeatCommand):
    help = "Check whether the git repositories and archives that plugins came from moved."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", help="Only the plugins of this collection.")
        parser.add_argument(
            "--plugin", action="append", default=[], metavar="NAME", help="Only this plugin."
        )
        parser.add_argument(
            "--import", dest="do_import", action="store_true", help="Import what moved."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args: Any, **options: Any) -> None:
        plugins = list(plugins_to_check(options["collection"], options["plugin"]))
        missing = _missing(options["plugin"], plugins)
        if missing:
            self.stderr.write(f"error: no plugin named {', '.join(missing)}")
            sys.exit(2)
        updates = check_updates(plugins)
        document: dict[str, Any] = {"plugins": [u.as_dict() for u in updates]}
        report = import_updates(updates) if options["do_import"] else None
        if report is not None:
            document["imported"] = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, default=str))
        else:
            self._render(updates, report)
        failed = any(u.state == UpdateState.UNREACHABLE for u in updates)
        if report is not None:
            for failure in report.failed:
                self.stderr.write(failure_line(failure))
            failed = failed or not report.ok
        if failed:
            sys.exit(1)

    def _render(self, updates: list[PluginUpdate], report: Any) -> None:
        for update in updates:
            self.stdout.write(_line(update))
        counts = {state: 0 for state in UpdateState.values}
        for update in updates:
            counts[update.state] += 1
        self.stdout.write(
            ", ".join(f"{n} {UpdateState(state).label}" for state, n in counts.items())
        )
        if report is not None:
            for result in report.results:
                self.stdout.write(result_headline(result))


def _line(update: PluginUpdate) -> str:
    name = f"{update.plugin.collection.name}/{update.plugin.name}"
    state = UpdateState(update.state)
    if state == UpdateState.UPDATE_AVAILABLE:
        return f"{name}: update available ({_short(update.current)} -> {_short(update.upstream)})"
    if state == UpdateState.UNREACHABLE:
        return f"{name}: unreachable ({update.error})"
    if state == UpdateState.UP_TO_DATE:
        return f"{name}: up to date ({_short(update.current)})"
    return f"{name}: not remote"


def _short(value: str | None) -> str:
    return (value or "unknown")[:SHORT]


def _missing(names: list[str], plugins: list[Any]) -> list[str]:
    found = {p.name_key for p in plugins}
    return [n for n in names if normalize_name(n) not in found]
