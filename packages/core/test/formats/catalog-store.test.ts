import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCatalog, fileStore, memoryStore, storeCatalogRepository } from "../../src/index.js";

const read = (dir: string, name: string) => JSON.parse(readFileSync(join(__dirname, "../fixtures", dir, name), "utf8"));

describe("catalog entries in a fleet store's records", () => {
  it("an entry loaded through one file-store handle is listed and instantiated through another", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "mcpfleet-catalog-")), "store.json");
    await using a = fileStore({ path });
    await using b = fileStore({ path });
    const first = createCatalog({ repository: storeCatalogRepository(a.records!) });
    const second = createCatalog({ repository: storeCatalogRepository(b.records!) });
    await first.load(read("registry", "pypi-weather.server.json"));
    await first.load(read("seeds", "template-my-mcp.json"));
    expect((await second.list()).map((e) => e.name)).toEqual(["io.github.example/weather", "my-mcp"]);
    expect((await second.get("weather")).server?.name).toBe("io.github.example/weather");
    const { input } = await second.instanceInput("my-mcp", { values: { MCP_SERVICE_NAME: "svc" } });
    expect(input.json_spec).toMatchObject({ image: "my-org/my-mcp:latest", environment: { MCP_SERVICE_NAME: "svc" } });
    // the records are catalog-kind documents beside the rest of the store
    const records = await b.records!.list();
    expect(records.map((r) => [r.id, r.kind])).toEqual(
      expect.arrayContaining([
        ["catalog:io.github.example/weather", "catalog"],
        ["catalog:my-mcp", "catalog"],
      ]),
    );
  });

  it("loading the same document again writes nothing; a changed one updates; other kinds are ignored", async () => {
    const store = memoryStore();
    const repository = storeCatalogRepository(store.records!);
    const catalog = createCatalog({ repository });
    const doc = read("seeds", "template-my-mcp.json");
    await catalog.load(doc);
    await catalog.load(doc);
    expect((await store.records!.get("catalog:my-mcp"))?.revision).toBe(1);
    await catalog.load({ ...doc, description: "changed" });
    expect((await store.records!.get("catalog:my-mcp"))?.revision).toBe(2);
    expect((await catalog.get("my-mcp")).description).toBe("changed");
    await store.records!.create({ id: "legacy-id:x", kind: "legacy-id", name: "i", data: {} });
    expect((await catalog.list()).map((e) => e.name)).toEqual(["my-mcp"]);
    expect(await repository.get("x")).toBeUndefined();
    expect(await repository.delete("my-mcp")).toBe(true);
    await expect(catalog.get("my-mcp")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("prune removes only what its source no longer holds; other sources and sourceless entries stay", async () => {
    const store = memoryStore();
    const catalog = createCatalog({ repository: storeCatalogRepository(store.records!) });
    const weather = read("registry", "pypi-weather.server.json");
    const template = read("seeds", "template-my-mcp.json");
    await catalog.load(weather, { loadedFrom: "path:/a" });
    await catalog.load(template, { loadedFrom: "path:/a" });
    await catalog.load({ ...template, name: "other-mcp" }, { loadedFrom: "path:/b" });
    await catalog.load({ ...template, name: "by-hand" });
    expect((await catalog.get("my-mcp")).loadedFrom).toBe("path:/a");
    expect(await catalog.prune("path:/a", ["io.github.example/weather"])).toEqual(["my-mcp"]);
    expect((await catalog.list()).map((e) => e.name)).toEqual(["by-hand", "io.github.example/weather", "other-mcp"]);
    expect(await catalog.prune("path:/a", ["io.github.example/weather"])).toEqual([]);
  });
});
