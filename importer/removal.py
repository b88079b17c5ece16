"""Deleting artifacts and versions (DESIGN section 13), under the import lock and in one
transaction, with the views following after the commit. A child or version that a plugin version
pins is refused, naming the plugins; a version recorded in a deployment needs ``force`` (which
forgets those deployments; the project's files stay). Deleted bytes become garbage for
``verify_collection --repair``."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from artifacts.models import Artifact, ArtifactAssociation, ArtifactType, Version, version_label
from blobstore import BlobStore, blob_store
from deploy.models import DeployedItem, Deployment
from importer.errors import ImportError_
from importer.hashing import TreeFile
from importer.locking import import_lock
from importer.storage import ViewWriter


class RemovalRefused(ImportError_):
    """What was asked cannot be deleted as it stands (pinned, or deployed without force)."""

    code = "conflict"


@dataclass
class RemovalReport:
    artifacts: list[str] = field(default_factory=list)  # "type:name"
    versions: list[str] = field(default_factory=list)  # "type:name@hash12"
    kept_children: list[str] = field(default_factory=list)  # still pinned by another plugin
    latest: list[str] = field(default_factory=list)  # the versions that became latest
    forgotten_deployments: list[str] = field(default_factory=list)  # "plugin -> project"
    stale_views: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "artifacts": self.artifacts,
            "versions": self.versions,
            "kept_children": self.kept_children,
            "latest": self.latest,
            "forgotten_deployments": self.forgotten_deployments,
            "stale_views": self.stale_views,
        }


def remove_artifact(
    artifact: Artifact, *, with_children: bool = False, force: bool = False
) -> RemovalReport:
    """Delete an artifact with its versions (a plugin: with its associations)."""
    return _Removal(force=force).run(lambda r: r.artifact(artifact, with_children=with_children))


def remove_version(version: Version, *, force: bool = False) -> RemovalReport:
    """Delete one version; the last version of an artifact takes the artifact with it."""
    return _Removal(force=force).run(lambda r: r.version(version))


@dataclass
class _Removal:
    force: bool
    report: RemovalReport = field(default_factory=RemovalReport)
    store: BlobStore = field(default_factory=blob_store)
    writers: dict[str, ViewWriter] = field(default_factory=dict)

    def run(self, work: Any) -> RemovalReport:
        with import_lock(self.store.root):
            try:
                with transaction.atomic(durable=True):
                    work(self)
            except BaseException:
                for writer in self.writers.values():
                    writer.discard()
                raise
            for writer in self.writers.values():
                self.report.stale_views.extend(writer.swap_all())
        return self.report

    def writer(self, artifact: Artifact) -> ViewWriter:
        name = artifact.collection.name
        if name not in self.writers:
            self.writers[name] = ViewWriter(self.store, name)
        return self.writers[name]

    # --- artifacts -------------------------------------------------------------------

    def artifact(self, artifact: Artifact, *, with_children: bool) -> None:
        artifact = Artifact.objects.select_related("collection").get(pk=artifact.pk)
        versions = list(artifact.versions.all())
        self._refuse_pinned(versions, artifact)
        self._deployments(versions, artifact)
        children = _children_of(versions) if with_children else []
        self._delete_artifact(artifact, versions)
        for child in children:
            if ArtifactAssociation.objects.filter(child=child).exists():
                self.report.kept_children.append(str(child))
            else:
                self._delete_artifact(child, list(child.versions.all()))

    def _delete_artifact(self, artifact: Artifact, versions: list[Version]) -> None:
        self.report.versions.extend(version_label(v) for v in versions)
        self.report.artifacts.append(str(artifact))
        Artifact.objects.filter(pk=artifact.pk).update(latest_version=None)
        Version.objects.filter(pk__in=[v.pk for v in versions]).delete()
        artifact.delete()
        self.writer(artifact).remove(artifact.type, artifact.name)

    # --- versions --------------------------------------------------------------------

    def version(self, version: Version) -> None:
        version = Version.objects.select_related("artifact__collection").get(pk=version.pk)
        artifact = version.artifact
        self._refuse_pinned([version], artifact)
        self._deployments([version], artifact)
        remaining = artifact.versions.exclude(pk=version.pk).order_by("-created_at").first()
        if remaining is None:
            self._delete_artifact(artifact, [version])
            return
        self.report.versions.append(version_label(version))
        if artifact.latest_version_id == version.pk:
            artifact.latest_version = remaining
            artifact.save(update_fields=["latest_version", "updated_at"])
            self.report.latest.append(version_label(remaining))
            self._stage_view(artifact, remaining)
        version.delete()

    def _stage_view(self, artifact: Artifact, version: Version) -> None:
        files = version.files.all()
        if artifact.type == ArtifactType.PLUGIN:
            files = files.filter(is_meta=True)
        tree = [TreeFile(f.path, f.mode, f.size, f.blob_hash) for f in files]
        self.writer(artifact).stage(artifact.type, artifact.name, tree)

    # --- the refusals ----------------------------------------------------------------

    def _refuse_pinned(self, versions: list[Version], artifact: Artifact) -> None:
        pins = (
            ArtifactAssociation.objects.filter(child_version__in=versions)
            .exclude(parent_version__artifact=artifact)
            .values_list("parent_version__artifact__name", flat=True)
            .distinct()
            .order_by("parent_version__artifact__name")
        )
        plugins = list(pins)
        if plugins:
            what = "its versions are" if len(versions) > 1 else "this version is"
            raise RemovalRefused(
                f"{what} pinned by plugin(s) {', '.join(plugins)}: delete those first",
                path=str(artifact),
                rule="pinned",
            )

    def _deployments(self, versions: list[Version], artifact: Artifact) -> None:
        found = list(
            Deployment.objects.filter(_deployed(versions, artifact))
            .select_related("plugin")
            .distinct()
        )
        if not found:
            return
        projects = [f"{d.plugin.name} -> {d.project}" for d in found]
        if not self.force:
            raise RemovalRefused(
                f"deployed ({'; '.join(projects)}): undeploy first, or force to forget the "
                "deployments (the project's files stay)",
                path=str(artifact),
                rule="deployed",
            )
        Deployment.objects.filter(pk__in=[d.pk for d in found]).delete()
        self.report.forgotten_deployments.extend(projects)


def _deployed(versions: list[Version], artifact: Artifact) -> Q:
    """Deployments of these plugin versions, or that wrote these child versions."""
    items = DeployedItem.objects.filter(
        child=artifact, version_hash__in=[v.content_hash for v in versions]
    ).values("deployment_id")
    return Q(plugin_version__in=versions) | Q(pk__in=items)


def _children_of(versions: Iterable[Version]) -> list[Artifact]:
    ids = ArtifactAssociation.objects.filter(parent_version__in=list(versions)).values("child_id")
    return list(Artifact.objects.filter(pk__in=ids).select_related("collection").order_by("pk"))
