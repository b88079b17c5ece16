"""``manage.py undeploy_plugin NAME --project DIR [--force]``: take a deployment out again."""

from dataclasses import asdict
from typing import Any

from django.core.management.base import CommandParser

from deploy.management.commands._output import add_place_arguments, fail, print_json
from deploy.services import plugin_undeploy
from importer.errors import ImportError_
from skillmeat_site.cli import SkillmeatCommand


class Command(SkillmeatCommand):
    help = (
        "Remove what deploy_plugin wrote (files, settings hooks, .mcp.json entries) and nothing "
        "else; files changed in the project are kept unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        add_place_arguments(parser)
        parser.add_argument("--force", action="store_true", help="Remove changed files too.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = plugin_undeploy(
                name=options["name"],
                project=options["project"],
                force=options["force"],
                scope=options["scope"],
            )
        except ImportError_ as error:
            fail(self, error, as_json=options["json"])
        if options["json"]:
            print_json(self, asdict(result))
            return
        for path in result.removed:
            self.stdout.write(f"removed {path}")
        for path in result.kept:
            self.stdout.write(f"kept {path} (changed in the project; --force removes it)")
