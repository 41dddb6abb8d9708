// Hive Gateway's configuration for B1's authenticated targets (hive-hs256, hive-rs256):
// its built-in JWT plugin (`jwt`, = useJWT of @graphql-mesh/plugin-jwt-auth over
// @graphql-yoga/plugin-jwt, jsonwebtoken) verifying the same tokens as switchboard, with
// the same rules. Set by bench/b1_throughput.py (keys made per run, bench/lib/tokens.py):
//   BENCH_JWT_ALGORITHM  HS256 or RS256: the only algorithm accepted
//   BENCH_JWT_KEY_FILE   the HS256 secret, or the RS256 public key (PEM)
//   BENCH_JWT_ISSUER, BENCH_JWT_AUDIENCE  checked like SWITCHBOARD_JWT_ISSUER/_AUDIENCE
// Run from bench/: hive-gateway supergraph <supergraph.graphql> -c openapi/gateway-jwt.mjs
import { readFileSync } from 'node:fs';
import {
  createInlineSigningKeyProvider,
  defineConfig,
  extractFromHeader,
} from '@graphql-hive/gateway';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`gateway-jwt.mjs needs ${name}`);
  return value;
};

export const gatewayConfig = defineConfig({
  jwt: {
    tokenLookupLocations: [extractFromHeader({ name: 'authorization', prefix: 'Bearer' })],
    signingKeyProviders: [createInlineSigningKeyProvider(readFileSync(env('BENCH_JWT_KEY_FILE'), 'utf8'))],
    tokenVerification: {
      algorithms: [env('BENCH_JWT_ALGORITHM')],
      issuer: env('BENCH_JWT_ISSUER'),
      audience: env('BENCH_JWT_AUDIENCE'),
    },
    // A request without a valid token gets no data, as with switchboard.
    reject: { missingToken: true, invalidToken: true },
    // The OpenAPI source is REST: nothing downstream would read forwarded claims, and
    // switchboard forwards none either.
    forward: { payload: false, token: false },
  },
});
