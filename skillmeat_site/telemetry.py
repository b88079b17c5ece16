"""OpenTelemetry set-up from the standard ``OTEL_*`` environment variables.

``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` take ``otlp``, ``console`` or ``none``
(the default): with none set, no provider is installed and the API's no-op tracer and meter
cost next to nothing. ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES`` and
``OTEL_EXPORTER_OTLP_*`` are read by the SDK itself.
"""

import os

from opentelemetry import metrics, trace

DEFAULT_SERVICE_NAME = "skillmeat-site"
_configured = False


def _exporters(variable: str) -> list[str]:
    names = [n.strip() for n in os.environ.get(variable, "none").split(",") if n.strip()]
    return [n for n in names if n != "none"]


def configure() -> None:
    """Install trace and metric providers when the environment asks for an exporter."""
    global _configured
    if _configured or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return
    _configured = True
    trace_exporters = _exporters("OTEL_TRACES_EXPORTER")
    metric_exporters = _exporters("OTEL_METRICS_EXPORTER")
    if not trace_exporters and not metric_exporters:
        return
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    resource = Resource.create({SERVICE_NAME: DEFAULT_SERVICE_NAME}).merge(Resource.create())
    if trace_exporters:
        _configure_traces(resource, trace_exporters)
    if metric_exporters:
        _configure_metrics(resource, metric_exporters)


def _configure_traces(resource: object, names: list[str]) -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=resource)
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()


def _configure_metrics(resource: object, names: list[str]) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )

    readers = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        elif name == "console":
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter()))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
