import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Catalog, type Logger, toFleetError } from "@mcpfleet/core";

/**
 * Loads `server.json` documents and original-manager templates into the catalog: each path is a
 * `.json` file or a directory of them. A bad document is skipped with a warning naming the file and
 * the issues' paths; the rest still load. Returns how many loaded.
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
    for (const file of files) {
      try {
        const entry = await catalog.load(JSON.parse(await readFile(file, "utf8")));
        loaded++;
        logger.debug({ name: entry.name, file }, "catalog entry loaded");
      } catch (err) {
        const fe = toFleetError(err);
        logger.warn({ file, code: fe.code, issues: fe.issues }, `catalog entry skipped: ${fe.message}`);
      }
    }
  }
  return loaded;
}
