"""``manage.py deploy_plugin NAME --project DIR``: deploy a plugin into a Claude Code project."""

from dataclasses import asdict
from typing import Any

from django.core.management.base import CommandParser

from artifacts.hashrefs import HashReferenceError
from artifacts.models import DEFAULT_COLLECTION
from deploy.management.commands._output import (
    add_place_arguments,
    fail,
    print_json,
    usage_error,
)
from deploy.services import ModifiedInProject, deploy_from_lock, plugin_deploy
from importer.errors import ImportError_
from skillmeat_site.cli import PluginVersionOption, SkillmeatCommand


class Command(PluginVersionOption, SkillmeatCommand):
    help = (
        "Write a plugin's children at their pinned versions into a project's .claude/ folder, "
        "merge its hooks into .claude/settings.json and its MCP servers into .mcp.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="The plugin's name.")
        add_place_arguments(parser)
        parser.add_argument("--collection", default=DEFAULT_COLLECTION)
        parser.add_argument(
            "--version",
            dest="plugin_version",
            help="A version's content hash (or a unique prefix).",
        )
        parser.add_argument("--platform", default="claude-code")
        parser.add_argument(
            "--mode",
            choices=["plugin", "flat"],
            default="plugin",
            help="plugin: the whole tree as .claude/skills/<name>/ (Claude Code loads it as "
            "<name>@skills-dir); flat: children into the project's own folders and settings.",
        )
        parser.add_argument(
            "--from-lock",
            action="store_true",
            help="Rebuild every plugin the project's lock file records, at its locked version.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Overwrite files changed in the project."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be written; write nothing."
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_lock"]:
            self._from_lock(options)
            return
        if not options["name"]:
            usage_error(self, "a plugin NAME is needed (or --from-lock)")
        try:
            result = plugin_deploy(
                name=options["name"],
                project=options["project"],
                collection=options["collection"],
                version=options["plugin_version"],
                platform=options["platform"],
                mode=options["mode"],
                scope=options["scope"],
                force=options["force"],
                dry_run=options["dry_run"],
            )
        except ModifiedInProject as modified:
            if not options["json"]:
                for path in modified.paths:
                    self.stdout.write(f"modified in the project: {path}")
            fail(self, modified, as_json=options["json"])
        except HashReferenceError as error:
            usage_error(self, str(error))
        except ImportError_ as error:
            fail(self, error, as_json=options["json"])
        if options["json"]:
            print_json(self, asdict(result))
            return
        verb = "would write" if result.dry_run else "wrote"
        self.stdout.write(f"{result.plugin} {result.version_hash[:12]} -> {result.project}")
        for path in result.written:
            self.stdout.write(f"  {verb} {path}")
        for path in result.removed:
            self.stdout.write(f"  removed {path} (no longer in the plugin)")
        for server in result.mcp_servers:
            self.stdout.write(f"  MCP server {server!r} in .mcp.json")
        for event in result.hook_events:
            self.stdout.write(f"  hooks for {event} in .claude/settings.json")
        for warning in result.warnings:
            self.stdout.write(f"  warning: {warning}")

    def _from_lock(self, options: dict[str, Any]) -> None:
        try:
            results = deploy_from_lock(project=options["project"], scope=options["scope"])
        except ImportError_ as error:
            fail(self, error, as_json=options["json"])
        if options["json"]:
            print_json(self, [asdict(result) for result in results])
            return
        for result in results:
            self.stdout.write(f"{result.plugin} {result.version_hash[:12]} -> {result.project}")
        self.stdout.write(f"{len(results)} plugin(s) rebuilt from the lock file")
