"""``manage.py hash_artifact PATH [--manifest]``: the content hash of a file or directory."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from importer.errors import ImportError_
from importer.hashing import hash_path
from skillmeat_site.cli import SkillmeatCommand


class Command(SkillmeatCommand):
    help = (
        "Print the SHA-256 content hash of a file (its bytes) or a directory (its manifest of "
        "'<mode> <sha256> <path>' lines), as the importer computes it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="A file or a directory.")
        parser.add_argument(
            "--manifest",
            action="store_true",
            help="Also print a directory's manifest (the text whose SHA-256 is its hash).",
        )

    def handle(self, *args: Any, path: Path, manifest: bool, **options: Any) -> None:
        if not path.exists() and not path.is_symlink():
            raise CommandError(f"{path}: no such file or directory")
        try:
            result = hash_path(path)
        except ImportError_ as error:
            raise CommandError(str(error)) from error
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(result.content_hash)
        if manifest and result.manifest is not None:
            self.stdout.write(result.manifest, ending="")
