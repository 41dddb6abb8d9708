// Hive Gateway configuration for the federation tests (tests/federation/conftest.py passes
// it with `--config-path`; the supergraph file, host and port come from the command line).
//
// Subscriptions: Hive Gateway sends queries and mutations to a subgraph over HTTP, at the
// URL composed into the supergraph (`@join__graph(url:)`). For subscriptions it needs to be
// told the transport: `options.subscriptions` of the subgraph's transport entry switches
// subscription operations to the `ws` transport (@graphql-mesh/transport-ws, graphql-ws
// protocol `graphql-transport-ws`, which Strawberry serves), at `location` resolved
// against the subgraph URL (http -> ws). switchboard serves websockets at /graphql, the
// same path as HTTP. Clients subscribe to the gateway itself over websockets at /graphql
// too (the CLI serves them unless `--disable-websockets`) or over SSE.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  transportEntries: {
    // Keyed by the subgraph name given to composition (tests/federation/conftest.py).
    switchboard: {
      options: {
        subscriptions: {
          kind: "ws",
          location: "/graphql",
          // A websocket carries no per-request headers: whatever switchboard needs to
          // authenticate goes into `connection_init`'s payload, which switchboard keeps as
          // `Context.connection_params`. Values may interpolate the client's request, e.g.
          // options: { connectionParams: { token: "{context.headers.authorization}" } },
        },
      },
    },
  },
  // The tests read every error as the subgraph wrote it.
  maskedErrors: false,
  // Only the tests talk to it.
  graphiql: false,
  landingPage: false,
});
