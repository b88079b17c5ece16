"""``manage.py export_plugin NAME -o FILE.zip|.tar.gz``: a plugin's original tree as an archive."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from artifacts.hashrefs import HashReferenceError
from artifacts.models import DEFAULT_COLLECTION
from deploy.export import plugin_export
from deploy.management.commands._output import fail, usage_error
from deploy.services import find_plugin, plugin_version
from importer.errors import ImportError_
from skillmeat_site.cli import PluginVersionOption, SkillmeatCommand


class Command(PluginVersionOption, SkillmeatCommand):
    help = (
        "Rebuild a plugin version's files (modes kept) into an archive under a folder of its name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("-o", "--output", required=True, type=Path)
        parser.add_argument("--collection", default=DEFAULT_COLLECTION)
        parser.add_argument(
            "--version",
            dest="plugin_version",
            help="A version's content hash (or a unique prefix).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plugin = find_plugin(options["name"], options["collection"])
            version = plugin_version(plugin, options["plugin_version"])
            output = plugin_export(version=version, output=options["output"])
        except HashReferenceError as error:
            usage_error(self, str(error))
        except ImportError_ as error:
            fail(self, error)
        self.stdout.write(f"{plugin.name} {version.content_hash[:12]} -> {output}")
