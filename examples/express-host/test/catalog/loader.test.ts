import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCatalog, recordingLogger } from "@mcpfleet/core";
import { expect, it } from "vitest";
import { loadCatalog } from "../../src/catalog-loader.js";
import { REPO_ROOT } from "../helpers.js";

const FIXTURES = join(REPO_ROOT, "packages/core/test/fixtures");

it("a catalog directory reloaded drops the entries whose files are gone, unless a file of it failed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-catalog-dir-"));
  copyFileSync(join(FIXTURES, "registry/pypi-weather.server.json"), join(dir, "weather.json"));
  copyFileSync(join(FIXTURES, "seeds/template-my-mcp.json"), join(dir, "my-mcp.json"));
  const catalog = createCatalog();
  const logger = recordingLogger();
  expect(await loadCatalog(catalog, [dir], logger)).toBe(2);
  const names = async () => (await catalog.list()).map((e) => e.name);
  expect(await names()).toEqual(expect.arrayContaining(["io.github.example/weather", "my-mcp"]));

  rmSync(join(dir, "my-mcp.json"));
  writeFileSync(join(dir, "broken.json"), "{ not json");
  expect(await loadCatalog(catalog, [dir], logger)).toBe(1);
  // a file failed: what the directory held before stays
  expect(await names()).toContain("my-mcp");

  rmSync(join(dir, "broken.json"));
  expect(await loadCatalog(catalog, [dir], logger)).toBe(1);
  expect(await names()).not.toContain("my-mcp");
  expect(await names()).toContain("io.github.example/weather");
  expect(JSON.stringify(logger.lines)).toContain("no longer in their path removed");
  // an unreadable path prunes nothing
  expect(await loadCatalog(catalog, [join(dir, "missing")], logger)).toBe(0);
  expect(await names()).toContain("io.github.example/weather");
});
