"""GraphQL over server-sent events: the graphql-sse protocol's distinct connections mode
on `/graphql/stream` (one operation per request, its results as a `text/event-stream`).

- `request`: what a stream request asks (GET parameters or a JSON POST body), checked;
- `events`: the event stream's wire format (`next`, `complete`, keep-alive comments);
- `stream`: one open stream, from its first event to its end;
- `server`: the ASGI endpoint over them (credentials, limits, drain, metrics).
"""

from app.graphql.sse.server import EventStreamServer, StreamLimits

__all__ = ["EventStreamServer", "StreamLimits"]
