"""Optional OpenTelemetry tracing (`pip install switchboard[otel]`): a span per GraphQL
operation (over HTTP, the event stream and websockets), per vendor request and per
command confirmation, joined to the caller's trace by its W3C `traceparent` and passed
on to the vendors.

On only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the SDK reads the rest of the
standard OTEL_* variables itself). Off, nothing of OpenTelemetry is imported and every
call here is one `is None` test: no per-request cost. Spans are per operation and per
request, never per field (a per-field hook costs ~7x on a small query).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
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
    current = start(name, attributes or {}, carrier=carrier)
    if current is None:
        yield None
        return
    from opentelemetry import trace

    with trace.use_span(
        current,
        end_on_exit=True,
        record_exception=False,  # its text may quote a URL; the code is set below
        set_status_on_exception=False,
    ):
        try:
            yield current
        except BaseException as failed:
            _failed(current, str(getattr(failed, "code", type(failed).__name__)))
            raise


def start(
    name: str, attributes: Mapping[str, Any], *, carrier: Mapping[str, str] | None = None
) -> Any | None:
    """A span begun now and ended by the caller (`.end()`), for an operation that
    outlives any one block (a websocket operation, from its subscribe message to its
    end); None when tracing is off. `carrier`: as for `span`."""
    if _tracer is None:
        return None
    from opentelemetry.propagate import extract

    context = extract(carrier) if carrier is not None else None
    return _tracer.start_span(name, context=context, attributes=dict(attributes))


def outcome(current: Any | None, codes: Sequence[str], attributes: Mapping[str, str]) -> None:
    """Note an operation's outcome on its span: `attributes`, and an error status with the
    first of `codes` when there are any (the span is ended by whoever began it)."""
    if current is None:
        return
    current.set_attributes(dict(attributes))
    if codes:
        _failed(current, codes[0])


def _failed(current: Any, code: str) -> None:
    """An error status with the code (never an exception's text: it may quote a URL)."""
    from opentelemetry import trace

    current.set_status(trace.Status(trace.StatusCode.ERROR, code))
    current.set_attribute("switchboard.error.code", code)


def within(current: Any | None) -> contextlib.AbstractContextManager[Any]:
    """`current` (a span of `start`) is the parent of the spans begun in the block, and
    of those of the tasks created in it; it stays open after."""
    if current is None:
        return _NO_SPAN
    from opentelemetry import trace

    return trace.use_span(
        current, end_on_exit=False, record_exception=False, set_status_on_exception=False
    )


_NO_SPAN = contextlib.nullcontext()


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` (and `tracestate`) to outgoing `headers`."""
    if _tracer is None:
        return
    from opentelemetry.propagate import inject as otel_inject

    otel_inject(headers)
