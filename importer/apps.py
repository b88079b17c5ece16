"""The importer app: detection, validation, hashing, dedup, the import service and storage."""

from django.apps import AppConfig


class ImporterConfig(AppConfig):
    name = "importer"
    verbose_name = "Importer"
