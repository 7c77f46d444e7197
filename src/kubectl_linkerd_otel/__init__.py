"""kubectl-linkerd-otel: Linkerd metrics into any OpenTelemetry backend, without linkerd-viz."""

__version__ = "0.1.0"
