"""``manage.py sync_status --project DIR [--json]``: the state of every deployed child."""

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from deploy.management.commands._output import print_json
from deploy.services import status_document
from skillmeat_site.cli import SkillmeatCommand


class Command(SkillmeatCommand):
    help = "Report each deployed child as missing, modified, outdated or in_sync."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, type=Path)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        document = status_document(options["project"])
        if options["json"]:
            print_json(self, document)
            return
        if not document["plugins"]:
            self.stdout.write(f"nothing deployed in {document['project']}")
        for plugin in document["plugins"]:
            self.stdout.write(f"{plugin['name']} {plugin['version_hash'][:12]}")
            for child in plugin["children"]:
                self.stdout.write(
                    f"  {child['state']:<9} {child['type']:<8} {child['name']}  ({child['path']})"
                )
        self.stdout.write(state_counts(document))


def state_counts(document: dict[str, Any]) -> str:
    """``2 plugins, 9 children: 7 in_sync, 1 modified, 1 missing``."""
    states = Counter(c["state"] for p in document["plugins"] for c in p["children"])
    total = sum(states.values())
    by_state = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    plugins = len(document["plugins"])
    return f"{plugins} plugin(s), {total} children" + (f": {by_state}" if by_state else "")
