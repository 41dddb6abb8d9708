#!/usr/bin/env node
// Composes subgraphs with both Apollo's and The Guild's composition and prints one JSON
// object, so the Python tests judge both composers on the same input:
//
//   node compose.mjs <name> <url> <sdl file> [<name> <url> <sdl file> ...]
//
//   {"apollo": {"errors": [{"code", "message"}], "hints": [{"code", "message", "coordinate"}],
//               "supergraphSdl": "..." | null},
//    "guild":  {"errors": [...], "supergraphSdl": "..." | null}}
//
// The Guild's composer reports no hints (its API has none), hence no "hints" there.
// Exit status 0 whenever JSON was printed, composition errors included: failing to
// compose is a result the tests assert on; a crash (bad arguments, unreadable file) is not.
import { readFileSync } from "node:fs";
import { composeServices as composeApollo } from "@apollo/composition";
import { composeServices as composeGuild } from "@theguild/federation-composition";
import { parse } from "graphql";

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 3 !== 0) {
  process.stderr.write("usage: compose.mjs <name> <url> <sdl file> [<name> <url> <sdl file> ...]\n");
  process.exit(2);
}

const services = [];
for (let i = 0; i < args.length; i += 3) {
  const [name, url, file] = args.slice(i, i + 3);
  services.push({ name, url, typeDefs: parse(readFileSync(file, "utf8")) });
}

const errorJson = (error) => ({
  code: error.extensions?.code ?? null,
  message: error.message,
});

const apollo = composeApollo(services);
const guild = composeGuild(services);

process.stdout.write(
  JSON.stringify({
    apollo: {
      errors: (apollo.errors ?? []).map(errorJson),
      hints: (apollo.hints ?? []).map((hint) => ({
        code: hint.definition.code,
        message: hint.message,
        coordinate: hint.coordinate ?? null,
      })),
      supergraphSdl: apollo.supergraphSdl ?? null,
    },
    guild: {
      errors: (guild.errors ?? []).map(errorJson),
      supergraphSdl: guild.supergraphSdl ?? null,
    },
  }),
);
