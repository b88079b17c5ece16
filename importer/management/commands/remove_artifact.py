"""``manage.py remove_artifact TYPE NAME [--collection C] [--version HASH] [--with-children]
[--force] [--json]``: delete an artifact (or one version of it) in one transaction (DESIGN
section 13). Exit status: 0 deleted, 1 not found or refused (pinned, deployed), 2 usage error."""

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from artifacts.hashrefs import HashReferenceError, version_by_reference
from artifacts.models import DEFAULT_COLLECTION, Artifact, ArtifactType, normalize_name
from importer.errors import ImportError_
from importer.removal import RemovalReport, remove_artifact, remove_version
from skillmeat_site.cli import PluginVersionOption, SkillmeatCommand


class Command(PluginVersionOption, SkillmeatCommand):
    help = (
        "Delete an artifact with its versions, or one version (--version). Children of a "
        "plugin stay unless --with-children; a pinned child or version is refused; a deployed "
        "version needs --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("type", choices=ArtifactType.values)
        parser.add_argument("name")
        parser.add_argument("--collection", default=DEFAULT_COLLECTION)
        parser.add_argument(
            "--version", dest="version", help="Delete only this version (a hash or 8+ hex)."
        )
        parser.add_argument(
            "--with-children",
            action="store_true",
            help="Also delete the children that no remaining plugin version pins.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Delete deployed versions too, forgetting those deployments (files stay).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args: Any, **options: Any) -> None:
        artifact = Artifact.objects.filter(
            collection__name=options["collection"],
            type=options["type"],
            name_key=normalize_name(options["name"]),
        ).first()
        if artifact is None:
            self._fail(f"no {options['type']} named {options['name']!r} in {options['collection']}")
        try:
            report = self._remove(artifact, options)
        except HashReferenceError as error:
            self.stderr.write(f"error: --version: {error}")
            sys.exit(2)
        except ImportError_ as refused:
            self._fail(f"{refused.path}: {refused.message} [{refused.rule}]")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._render(report)

    def _remove(self, artifact: Artifact, options: dict[str, Any]) -> RemovalReport:
        if options["version"] is None:
            return remove_artifact(
                artifact, with_children=options["with_children"], force=options["force"]
            )
        version = version_by_reference(artifact.versions.all(), options["version"])
        if version is None:
            self._fail(f"{artifact} has no version {options['version']!r}")
        return remove_version(version, force=options["force"])

    def _fail(self, message: str) -> None:
        self.stderr.write(f"error: {message}")
        sys.exit(1)

    def _render(self, report: RemovalReport) -> None:
        for label in report.versions:
            self.stdout.write(f"deleted version {label}")
        for label in report.artifacts:
            self.stdout.write(f"deleted {label}")
        for label in report.latest:
            self.stdout.write(f"latest is now {label}")
        for label in report.kept_children:
            self.stdout.write(f"kept {label} (another plugin pins it)")
        for label in report.forgotten_deployments:
            self.stdout.write(f"forgot deployment {label} (its files stay in the project)")
        for label in report.stale_views:
            self.stdout.write(f"warning: stale view (run verify_collection --repair): {label}")
        self.stdout.write("its bytes are garbage now: verify_collection --repair removes them")
