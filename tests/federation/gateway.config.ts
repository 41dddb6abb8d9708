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
//
// Authentication (docs/federation-auth.md): switchboard, not the gateway, checks the
// client's `Authorization: Bearer <jwt>`, so the gateway only carries it along — over HTTP
// as that header (propagateHeaders), over the websocket to switchboard in connection_init's
// payload (connectionParams). With switchboard's auth off nothing is sent and nothing
// changes.
import { defineConfig, type GatewayPlugin } from "@graphql-hive/gateway";

// Where the client's credential is: an HTTP client's `Authorization` header; a websocket
// client's connection_init payload (what graphql-ws clients send as `connectionParams`,
// kept by Hive as `context.connectionParams`), else its upgrade request's header. Hive
// merges connectionParams into `context.headers` as sent, without lower-casing keys, so
// `{context.headers.authorization}` alone would miss a payload's `Authorization`.
function clientAuthorization(context: {
  request?: Request;
  connectionParams?: Record<string, unknown>;
}): string | undefined {
  const params = context.connectionParams ?? {};
  const nested = params["headers"] as Record<string, unknown> | undefined;
  for (const value of [
    params["Authorization"],
    params["authorization"],
    nested?.["Authorization"],
    nested?.["authorization"],
  ]) {
    if (typeof value === "string" && value !== "") return value;
  }
  return context.request?.headers.get("authorization") ?? undefined;
}

// Puts the credential in the context once, as `context.switchboardAuthorization`, for the
// websocket transport's interpolated connectionParams below (interpolation reads the
// context; it cannot call a function).
const useClientAuthorization: GatewayPlugin = {
  onContextBuilding({ context, extendContext }) {
    const authorization = clientAuthorization(context);
    if (authorization !== undefined) {
      extendContext({ switchboardAuthorization: authorization });
    }
  },
};

export const gatewayConfig = defineConfig({
  transportEntries: {
    // Keyed by the subgraph name given to composition (tests/federation/conftest.py).
    switchboard: {
      options: {
        subscriptions: {
          kind: "ws",
          location: "/graphql",
          options: {
            // A websocket carries no per-request headers: switchboard reads the credential
            // from connection_init's payload. An empty interpolation drops the key; Hive
            // keeps one websocket to switchboard per distinct connectionParams, so
            // clients with different tokens never share one.
            connectionParams: {
              Authorization: "{context.switchboardAuthorization}",
            },
          },
        },
      },
    },
  },
  plugins: () => [useClientAuthorization],
  propagateHeaders: {
    // Queries and mutations (HTTP): only switchboard gets the credential.
    fromClientToSubgraphs({ context, subgraphName }) {
      if (subgraphName !== "switchboard") return {};
      return { authorization: clientAuthorization(context) };
    },
  },
  // The tests read every error as the subgraph wrote it.
  maskedErrors: false,
  // Only the tests talk to it.
  graphiql: false,
  landingPage: false,
});
