// Hive Gateway in docker-compose.yml: serves deploy/supergraph.graphql (switchboard's
// schema composed by `make supergraph`, subgraph URL http://switchboard:8000/graphql,
// the network alias both switchboard instances answer to).
//
// As in tests/federation/gateway.config.ts (which the federation tests run): queries
// and mutations go to switchboard over HTTP, subscriptions over graphql-transport-ws at
// /graphql. A websocket carries no per-request headers: a token for switchboard goes in
// the connection_init payload, e.g.
//   connectionParams: { Authorization: "{context.headers.authorization}" },
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  transportEntries: {
    switchboard: {
      options: {
        subscriptions: {
          kind: "ws",
          location: "/graphql",
        },
      },
    },
  },
});
