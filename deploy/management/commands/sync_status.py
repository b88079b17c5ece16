"""``manage.py sync_status --project DIR [--json]``: the state of every deployed child."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deploy.management.commands._output import print_json
from deploy.services import status_document


class Command(BaseCommand):
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
