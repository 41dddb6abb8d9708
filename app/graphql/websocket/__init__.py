"""GraphQL over websockets: `graphql-transport-ws` and the legacy `graphql-ws`, with shared
subscription executions.

- `messages`: the protocols' messages, read from a client's frames and written to them;
- `protocols`: what each protocol does with each message (one handler per protocol);
- `connection`: one client, from the upgrade to the close;
- `send_queue`: a connection's bounded send queue;
- `sharing`: one execution shared by identical subscriptions;
- `server`: the ASGI endpoint over all of them.
"""

from app.graphql.websocket.connection import CLOSE_TIMEOUT, Connection
from app.graphql.websocket.messages import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, ProtocolViolation
from app.graphql.websocket.server import ContextFactory, SubscriptionServer, WebSocketLimits

__all__ = [
    "CLOSE_TIMEOUT",
    "LEGACY_WS",
    "PROTOCOLS",
    "TRANSPORT_WS",
    "Connection",
    "ContextFactory",
    "ProtocolViolation",
    "SubscriptionServer",
    "WebSocketLimits",
]
