"""The artifacts app: the collection's domain model, its reads, API and admin."""

from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    name = "artifacts"
    verbose_name = "Artifacts"
