// Composes the supergraph Hive Gateway serves in benchmark B1: GraphQL Mesh's OpenAPI
// source over genesys.yaml. Endpoint and headers are interpolated by the gateway at
// request time from its environment, so one composed supergraph serves any emulator port:
//   GENESYS_URL            e.g. http://127.0.0.1:PORT/genesys
//   GENESYS_AUTHORIZATION  "Basic ..." for the emulator's demo agent
//   GENESYS_JSESSIONID     a session opened beforehand (switchboard's adapter keeps one too)
// Run from bench/: npx mesh-compose -c openapi/mesh.config.ts -o <out>/supergraph.graphql
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Genesys', {
        source: './openapi/genesys.yaml',
        endpoint: '{env.GENESYS_URL}',
        operationHeaders: {
          Authorization: '{env.GENESYS_AUTHORIZATION}',
          Cookie: 'JSESSIONID={env.GENESYS_JSESSIONID}',
        },
      }),
    },
  ],
});
