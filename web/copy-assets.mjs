// Copies the pinned browser bundles from web/node_modules (installed by `npm ci` from
// package-lock.json) into app/web/static/vendor/<package>@<version>/, with each package's
// licence, and prints every file's SRI hash (sha384) for app/web/graphiql.html.
// `make web-assets` runs it; the copies are committed so `make run` needs no npm.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "app", "web", "static", "vendor");

// package -> [file in the package, ...]: the UMD builds GraphiQL's page and the wallboard load.
const FILES = {
  react: ["umd/react.production.min.js", "LICENSE"],
  "react-dom": ["umd/react-dom.production.min.js", "LICENSE"],
  graphiql: ["graphiql.min.js", "graphiql.min.css", "LICENSE"],
  "@graphiql/plugin-explorer": ["dist/index.umd.js", "dist/style.css"],
  "graphql-ws": ["umd/graphql-ws.min.js", "LICENSE.md"],
};

rmSync(target, { recursive: true, force: true });
for (const [name, files] of Object.entries(FILES)) {
  const root = join(here, "node_modules", name);
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const folder = join(target, `${name.replace(/^@/, "").replace("/", "-")}@${version}`);
  mkdirSync(folder, { recursive: true });
  for (const file of files) {
    const copy = join(folder, file.split("/").pop());
    copyFileSync(join(root, file), copy);
    const digest = createHash("sha384").update(readFileSync(copy)).digest("base64");
    console.log(`${copy.slice(target.length + 1)}  sha384-${digest}`);
  }
}
