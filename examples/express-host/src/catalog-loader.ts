import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Catalog, type Logger, toFleetError } from "@mcpfleet/core";

/**
 * Loads `server.json` documents and original-manager templates into the catalog: each path is a
 * `.json` file or a directory of them. A bad document is skipped with a warning naming the file and
 * the issues' paths; the rest still load. Entries a path loaded before and no longer holds are removed
 * (pruned), unless the path is unreadable or one of its files failed (then what was there stays).
 * Returns how many loaded.
 */
export async function loadCatalog(catalog: Catalog, paths: string[], logger: Logger): Promise<number> {
  let loaded = 0;
  for (const p of paths) {
    let files: string[];
    try {
      const s = await stat(p);
      files = s.isDirectory()
        ? (await readdir(p))
            .filter((f) => f.endsWith(".json"))
            .sort()
            .map((f) => join(p, f))
        : [p];
    } catch {
      logger.warn({ path: p }, "catalog path not readable; skipped");
      continue;
    }
    const loadedFrom = `path:${resolve(p)}`;
    const names: string[] = [];
    let failed = 0;
    for (const file of files) {
      try {
        const entry = await catalog.load(JSON.parse(await readFile(file, "utf8")), { loadedFrom });
        names.push(entry.name);
        logger.debug({ name: entry.name, file }, "catalog entry loaded");
      } catch (err) {
        failed++;
        const fe = toFleetError(err);
        logger.warn({ file, code: fe.code, issues: fe.issues }, `catalog entry skipped: ${fe.message}`);
      }
    }
    loaded += names.length;
    if (failed > 0) continue;
    const removed = await catalog.prune(loadedFrom, names);
    if (removed.length > 0) logger.info({ path: p, removed }, "catalog entries no longer in their path removed");
  }
  return loaded;
}
