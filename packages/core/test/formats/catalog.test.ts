import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCatalog, createFleet, type FleetError, memoryCatalogRepository } from "../../src/index.js";

const read = (dir: string, name: string) => JSON.parse(readFileSync(join(__dirname, "../fixtures", dir, name), "utf8"));

describe("catalog", () => {
  it("loads registry documents and the seed templates; searches by name and keyword", async () => {
    const repository = memoryCatalogRepository();
    const catalog = createCatalog({ repository });
    for (const f of ["npm-filesystem.server.json", "pypi-weather.server.json", "remote-variables.server.json"])
      await catalog.load(read("registry", f));
    for (const f of ["template-my-mcp.json", "template-fastapi.json"]) await catalog.load(read("seeds", f));
    expect((await catalog.list()).map((e) => e.name)).toEqual([
      "com.example/tenant-api",
      "fastapi",
      "io.github.example/weather",
      "io.github.modelcontextprotocol/filesystem",
      "my-mcp",
    ]);
    expect((await catalog.list({ q: "weather" })).map((e) => e.name)).toEqual(["io.github.example/weather"]);
    expect((await catalog.list({ q: "template" })).map((e) => e.name)).toEqual(["fastapi", "my-mcp"]);
    expect((await catalog.list({ q: "pypi FORECASTS" })).map((e) => e.name)).toEqual(["io.github.example/weather"]);
    expect((await catalog.list({ q: "nothing-like-this" })).length).toBe(0);
    // entries live in the repository (a shared one would serve every replica)
    expect((await repository.list()).length).toBe(5);
    expect((await catalog.get("weather")).name).toBe("io.github.example/weather");
  });

  it("an instance of a seed template: required env var from values, fixed env kept, validates", async () => {
    const catalog = createCatalog();
    await catalog.load(read("seeds", "template-my-mcp.json"));
    await catalog.load(read("seeds", "template-fastapi.json"));
    const { input } = await catalog.instanceInput("my-mcp", { values: { MCP_SERVICE_NAME: "svc" }, name: "mine" });
    expect(input.name).toBe("mine");
    expect(input.json_spec).toMatchObject({
      type: "docker",
      image: "my-org/my-mcp:latest",
      environment: { MCP_SERVICE_NAME: "svc" },
    });
    const fastapi = await catalog.instanceInput("fastapi");
    expect(fastapi.input.json_spec.environment).toEqual({ PYTHONPATH: "/app" });
    // defaults from the template's own environment
    const dflt = await catalog.instanceInput("my-mcp");
    expect(dflt.input.json_spec.environment).toEqual({ MCP_SERVICE_NAME: "my-mcp" });
    await using fleet = createFleet({ runtimes: {} });
    const inst = await fleet.instances.create({ ...input, start: false });
    expect(inst.json_spec.image).toBe("my-org/my-mcp:latest");
  });

  it("unknown entries and unknown values are refused with codes and paths", async () => {
    const catalog = createCatalog();
    await catalog.load(read("registry", "pypi-weather.server.json"));
    await expect(catalog.get("nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
    const err = (await catalog
      .instanceInput("io.github.example/weather", { values: { units: "kelvin" } })
      .catch((e) => e)) as FleetError;
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path).sort()).toEqual(["values.OPENWEATHER_API_KEY", "values.units"]);
    await expect(
      catalog.load({
        name: "a.b/c",
        description: "d",
        version: "1",
        packages: [{ registryType: "mcpb", identifier: "https://x/y.mcpb", transport: { type: "stdio" } }],
      }),
    ).rejects.toMatchObject({ code: "UNSUPPORTED" });
    await expect(catalog.load({ nope: 1 })).rejects.toMatchObject({ code: "SPEC_INVALID" });
  });
});
