#!/usr/bin/env node
// pnpm bench <name>: runs bench/<name>.ts (TypeScript through tsx, workspace packages from source,
// --expose-gc for heap figures). Each benchmark prints one JSON line on stdout. No name: run all.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const benchDir = join(root, "bench");
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3))
  .sort();
const names = process.argv.slice(2);
const run = names.length > 0 ? names : available;
let status = 0;
for (const name of run) {
  const file = join(benchDir, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(", ")}`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, ["--expose-gc", "--conditions=@mcpfleet/source", "--import", "tsx", file], {
    cwd: root,
    stdio: "inherit",
    env: process.env,
  });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
