#!/usr/bin/env node
// Builds a container build context holding an npm-installed package and its whole dependency closure,
// copied from the workspace's pnpm store layout (node_modules/.pnpm/<entry>/node_modules/...), with the
// relative symlinks kept so Node resolves modules inside the image exactly as it does here.
// Usage: node build-context.mjs <package dir (may be a symlink)> <context dir>
// Prints the package's path inside the image (under /app).
import { cpSync, lstatSync, mkdirSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";

const [pkgArg, ctxArg] = process.argv.slice(2);
if (!pkgArg || !ctxArg) {
  process.stderr.write("usage: build-context.mjs <package dir> <context dir>\n");
  process.exit(2);
}

const pkgDir = realpathSync(pkgArg);
/** `.../node_modules/.pnpm/<entry>` holding a real package directory. */
function storeEntryOf(realDir) {
  const parts = realDir.split(sep);
  const i = parts.lastIndexOf(".pnpm");
  if (i < 0 || i + 1 >= parts.length) throw new Error(`not inside a pnpm store: ${realDir}`);
  return parts.slice(0, i + 2).join(sep);
}

const pnpmDir = dirname(storeEntryOf(pkgDir));
const seen = new Set();
const queue = [storeEntryOf(pkgDir)];
while (queue.length > 0) {
  const entry = queue.pop();
  if (seen.has(entry)) continue;
  seen.add(entry);
  const nm = join(entry, "node_modules");
  const names = [];
  for (const name of readdirSync(nm)) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@")) for (const sub of readdirSync(join(nm, name))) names.push(join(name, sub));
    else names.push(name);
  }
  for (const name of names) {
    const p = join(nm, name);
    if (!lstatSync(p).isSymbolicLink()) continue;
    const target = realpathSync(p);
    const dep = storeEntryOf(target);
    if (dirname(dep) !== pnpmDir) throw new Error(`dependency outside the store: ${p} -> ${target}`);
    queue.push(dep);
  }
}

const ctx = ctxArg;
rmSync(join(ctx, "app"), { recursive: true, force: true });
const dest = join(ctx, "app", "node_modules", ".pnpm");
mkdirSync(dest, { recursive: true });
for (const entry of seen) {
  cpSync(entry, join(dest, basename(entry)), { recursive: true, verbatimSymlinks: true });
}
process.stderr.write(`build-context: ${seen.size} store entries copied\n`);
process.stdout.write(`/app/node_modules/.pnpm/${relative(pnpmDir, pkgDir)}\n`);
