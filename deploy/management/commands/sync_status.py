"""``manage.py sync_status --project DIR [--json]``: the state of every deployed child."""

import sys
from collections import Counter
from typing import Any

from django.core.management.base import CommandParser

from deploy.management.commands._output import add_place_arguments, fail, print_json
from deploy.services import status_document, status_is_clean
from importer.errors import ImportError_
from skillmeat_site.cli import SkillmeatCommand


class Command(SkillmeatCommand):
    help = "Report each deployed child as missing, modified, outdated or in_sync."

    def add_arguments(self, parser: CommandParser) -> None:
        add_place_arguments(parser)
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit 1 when anything is not in_sync or current (a CI gate).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = status_document(options["project"], options["scope"])
        except ImportError_ as error:
            fail(self, error, as_json=options["json"])
        if options["json"]:
            print_json(self, document)
        else:
            self._print(document)
        if options["check"] and not status_is_clean(document):
            sys.exit(1)

    def _print(self, document: dict[str, Any]) -> None:
        if not document["plugins"]:
            self.stdout.write(f"nothing deployed in {document['project']}")
        for plugin in document["plugins"]:
            self.stdout.write(
                f"{plugin['name']} {plugin['version_hash'][:12]} ({plugin['mode']} mode): "
                f"{plugin['state']}"
            )
            for child in plugin["children"]:
                self.stdout.write(
                    f"  {child['state']:<9} {child['type']:<8} {child['name']}  ({child['path']})"
                )
            for meta in plugin["meta_files"]:
                if meta["state"] != "in_sync":
                    self.stdout.write(f"  {meta['state']:<9} file     {meta['path']}")
        self.stdout.write(state_counts(document))


def state_counts(document: dict[str, Any]) -> str:
    """``2 plugins, 9 children: 7 in_sync, 1 modified, 1 missing``."""
    states = Counter(c["state"] for p in document["plugins"] for c in p["children"])
    total = sum(states.values())
    by_state = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    plugins = len(document["plugins"])
    return f"{plugins} plugin(s), {total} children" + (f": {by_state}" if by_state else "")
