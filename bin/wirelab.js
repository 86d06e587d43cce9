#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm run build`, which `npm start` runs first).
import { existsSync } from "node:fs";

const cli = new URL("../dist/node/server/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("wirelab: not built yet; run `npm run build` in the package folder first.\n");
  process.exit(1);
}
await import(cli.href);
