"""The Django admin: collections, artifacts (a plugin's current children with pinned and current
hashes and drift in words, a child's parents and the plugins that brought each version), versions
with their origin, files, contents and diffs, the import history, an import page and deletion.
Hashes and versions are read-only: content changes only by importing (or deleting)."""

from artifacts.admin.artifact import ArtifactAdmin
from artifacts.admin.display import ReadOnlyMixin, short_hash
from artifacts.admin.records import CollectionAdmin, ImportRecordAdmin
from artifacts.admin.version import VersionAdmin

__all__ = [
    "ArtifactAdmin",
    "CollectionAdmin",
    "ImportRecordAdmin",
    "ReadOnlyMixin",
    "VersionAdmin",
    "short_hash",
]
