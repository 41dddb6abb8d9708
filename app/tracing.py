"""Optional OpenTelemetry tracing (`pip install switchboard[otel]`): a span per GraphQL
operation, per vendor request and per command confirmation, joined to the caller's trace
by its W3C `traceparent` and passed on to the vendors.

On only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the SDK reads the rest of the
standard OTEL_* variables itself). Off, nothing of OpenTelemetry is imported and every
call here is one `is None` test: no per-request cost. Spans are per operation and per
request, never per field (a per-field hook costs ~7x on a small query).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

logger = logging.getLogger("switchboard.tracing")

_tracer: Tracer | None = None


def configure(environ: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on when OTEL_EXPORTER_OTLP_ENDPOINT is set; True if it is on."""
    environ = os.environ if environ is None else environ
    if not environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
            "pip install 'switchboard[otel]'; tracing stays off"
        )
        return False
    service = environ.get("OTEL_SERVICE_NAME", "switchboard")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)
    logger.info("tracing on: spans exported over OTLP/HTTP")
    return True


def install(provider: TracerProvider | None) -> None:
    """Trace into `provider` (tests give one with an in-memory exporter); None: off."""
    global _tracer  # noqa: PLW0603 (one tracer per process, like the SDK's own global)
    _tracer = None if provider is None else provider.get_tracer("switchboard")


def enabled() -> bool:
    return _tracer is not None


@contextlib.contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    carrier: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """A span around the block (nothing when tracing is off). `carrier`: headers of an
    incoming request whose `traceparent` the span continues. An exception leaving the
    block marks the span as an error, with the exception's type only."""
    if _tracer is None:
        yield None
        return
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    context = extract(carrier) if carrier is not None else None
    with _tracer.start_as_current_span(
        name,
        context=context,
        attributes=dict(attributes or {}),
        record_exception=False,  # its text may quote a URL; the code is set below
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as failed:
            code = getattr(failed, "code", type(failed).__name__)
            current.set_status(trace.Status(trace.StatusCode.ERROR, str(code)))
            current.set_attribute("switchboard.error.code", str(code))
            raise


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` (and `tracestate`) to outgoing `headers`."""
    if _tracer is None:
        return
    from opentelemetry.propagate import inject as otel_inject

    otel_inject(headers)
