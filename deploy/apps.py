"""The sync engine: deploying plugins into projects, their status and drift, export, and the
verification and repair of the collection's storage."""

from django.apps import AppConfig


class DeployConfig(AppConfig):
    name = "deploy"
    verbose_name = "Sync engine"
