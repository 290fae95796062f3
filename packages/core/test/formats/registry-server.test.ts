import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type FleetError,
  instantiateSpecTemplate,
  parseInstanceSpec,
  parseRegistryServer,
  parseServerDefinition,
} from "../../src/index.js";

const doc = (name: string) => JSON.parse(readFileSync(join(__dirname, "../fixtures/registry", name), "utf8"));
const errorOf = (fn: () => unknown): FleetError => {
  try {
    fn();
  } catch (e) {
    return e as FleetError;
  }
  throw new Error("expected an error");
};

describe("parseRegistryServer: real-shaped server.json documents", () => {
  it("npm: npx -y <id>@<version>, a repeated positional argument", () => {
    const r = parseRegistryServer(doc("npm-filesystem.server.json"));
    expect(r.instanceName).toBe("filesystem");
    expect(r.server).toMatchObject({ name: "io.github.modelcontextprotocol/filesystem", version: "2025.8.21" });
    expect(() => parseServerDefinition(r.server)).not.toThrow();
    expect(r.template?.kind).toBe("process");
    expect(r.template?.variables).toEqual([
      expect.objectContaining({ name: "allowed_directory", required: true, repeated: true, format: "filepath" }),
    ]);
    const { json_spec, secrets } = instantiateSpecTemplate(r.template!, { allowed_directory: ["/data", "/tmp"] });
    expect(json_spec).toEqual({
      type: "process",
      command: "npx",
      transport: "stdio",
      args: ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/data", "/tmp"],
    });
    expect(secrets).toEqual({});
    expect(parseInstanceSpec(json_spec)).toMatchObject({ command: ["npx"] });
    const missing = errorOf(() => instantiateSpecTemplate(r.template!, {}));
    expect(missing.code).toBe("SPEC_INVALID");
    expect(missing.issues[0]!.path).toBe("values.allowed_directory");
  });

  it("pypi: uvx <id>==<version>; env schema from environmentVariables, the secret marked and kept out of the spec", () => {
    const r = parseRegistryServer(doc("pypi-weather.server.json"));
    expect(r.server.env_schema).toEqual([
      {
        name: "OPENWEATHER_API_KEY",
        type: "string",
        required: true,
        secret: true,
        description: "OpenWeatherMap API key",
      },
      {
        name: "CACHE_TTL",
        type: "number",
        required: false,
        secret: false,
        description: "Cache seconds",
        default: "300",
      },
      { name: "LOG_LEVEL", type: "string", required: false, secret: false },
    ]);
    const { json_spec, secrets } = instantiateSpecTemplate(r.template!, {
      OPENWEATHER_API_KEY: "owm-secret",
      verbose: true,
    });
    expect(json_spec).toEqual({
      type: "process",
      command: "uvx",
      transport: "stdio",
      args: ["weather-mcp-server==0.6.1", "--units", "metric", "--verbose"],
      environment: { CACHE_TTL: "300", LOG_LEVEL: "info" },
    });
    expect(secrets).toEqual({ OPENWEATHER_API_KEY: "owm-secret" });
    expect(JSON.stringify(json_spec)).not.toContain("owm-secret");
    const bad = errorOf(() =>
      instantiateSpecTemplate(r.template!, { OPENWEATHER_API_KEY: "k", units: "kelvin", CACHE_TTL: "soon", nope: 1 }),
    );
    expect(bad.issues.map((i) => i.path).sort()).toEqual(["values.CACHE_TTL", "values.nope", "values.units"]);
  });

  it("oci: a docker spec with the image as the server's docker_image_url; runtime option picks the npm package", () => {
    const r = parseRegistryServer(doc("oci-brave.server.json"));
    expect(r.template?.kind).toBe("docker");
    expect(r.server.docker_image_url).toBe("docker.io/mcp/brave-search:1.2.0");
    const { json_spec, secrets } = instantiateSpecTemplate(r.template!, { BRAVE_API_KEY: "b" });
    expect(json_spec).toEqual({
      type: "docker",
      image: "docker.io/mcp/brave-search:1.2.0",
      transport: "streamable-http",
      args: ["--port", "8080"],
      port: 8080,
    });
    expect(secrets).toEqual({ BRAVE_API_KEY: "b" });
    expect(parseInstanceSpec(json_spec)).toMatchObject({ port: 8080, image: "docker.io/mcp/brave-search:1.2.0" });
    expect(r.notes).toEqual([expect.stringContaining("runtimeArguments of oci:docker.io/mcp/brave-search:1.2.0")]);
    const asProcess = parseRegistryServer(doc("oci-brave.server.json"), { runtime: "process" });
    expect(asProcess.template?.source).toBe("npm:@brave/brave-search-mcp-server@1.2.0");
    expect(instantiateSpecTemplate(asProcess.template!, { BRAVE_API_KEY: "b" }).json_spec.args).toEqual([
      "-y",
      "@brave/brave-search-mcp-server@1.2.0",
    ]);
  });

  it("remote: URL variables filled, credential header template to secrets, optional header left out", () => {
    const r = parseRegistryServer(doc("remote-variables.server.json"));
    expect(r.templates.map((t) => t.source)).toEqual(["remote:0", "remote:1"]);
    expect(r.template?.variables.map((v) => [v.name, v.required, v.secret])).toEqual([
      ["tenant", true, false],
      ["region", false, false],
      ["api_key", true, true],
      ["X-Workspace", false, false],
    ]);
    const { json_spec, secrets } = instantiateSpecTemplate(r.template!, { tenant: "acme", api_key: "k-1" });
    expect(json_spec).toEqual({
      type: "url",
      transport: "streamable-http",
      endpoint: "https://acme.mcp.example.com/eu/mcp",
    });
    expect(secrets).toEqual({ "headers.Authorization": "Bearer k-1" });
    const sse = instantiateSpecTemplate(r.templates[1]!, {});
    expect(sse.json_spec).toEqual({ type: "url", transport: "sse", endpoint: "https://legacy.mcp.example.com/sse" });
    expect(
      errorOf(() => instantiateSpecTemplate(r.template!, { tenant: "acme", api_key: "k", region: "ap" })).issues[0]!
        .path,
    ).toBe("values.region");
  });

  it("mcpb packages are skipped with a reason; the remote is the template", () => {
    const r = parseRegistryServer(doc("mcpb-only.server.json"));
    expect(r.skipped).toEqual([{ source: expect.stringContaining("mcpb:"), reason: expect.stringContaining("mcpb") }]);
    expect(r.template?.kind).toBe("url");
  });

  const valid = () => doc("npm-filesystem.server.json");
  it.each([
    ["not an object", () => [], ""],
    ["name missing", () => ({ ...valid(), name: undefined }), "name"],
    ["name without a namespace", () => ({ ...valid(), name: "filesystem" }), "name"],
    ["name with two slashes", () => ({ ...valid(), name: "a.b/c/d" }), "name"],
    ["description too long", () => ({ ...valid(), description: "d".repeat(101) }), "description"],
    ["version missing", () => ({ ...valid(), version: undefined }), "version"],
    ["version a range", () => ({ ...valid(), version: "^1.2.3" }), "version"],
    [
      "package version latest",
      () => ({ ...valid(), packages: [{ ...valid().packages[0], version: "latest" }] }),
      "packages.0.version",
    ],
    [
      "package without transport",
      () => ({ ...valid(), packages: [{ ...valid().packages[0], transport: undefined }] }),
      "packages.0.transport",
    ],
    [
      "bad transport type",
      () => ({ ...valid(), packages: [{ ...valid().packages[0], transport: { type: "ws" } }] }),
      "packages.0.transport.type",
    ],
    [
      "positional without valueHint or value",
      () => ({ ...valid(), packages: [{ ...valid().packages[0], packageArguments: [{ type: "positional" }] }] }),
      "packages.0.packageArguments.0.valueHint",
    ],
    [
      "bad sha256",
      () => ({ ...valid(), packages: [{ ...valid().packages[0], fileSha256: "xyz" }] }),
      "packages.0.fileSha256",
    ],
    ["remote url not http", () => ({ ...valid(), remotes: [{ type: "sse", url: "ftp://x" }] }), "remotes.0.url"],
    ["remote without url", () => ({ ...valid(), remotes: [{ type: "streamable-http" }] }), "remotes.0.url"],
    [
      "env var without a name",
      () => ({ ...valid(), packages: [{ ...valid().packages[0], environmentVariables: [{ isSecret: true }] }] }),
      "packages.0.environmentVariables.0.name",
    ],
    [
      "bad format",
      () => ({
        ...valid(),
        packages: [{ ...valid().packages[0], environmentVariables: [{ name: "A", format: "date" }] }],
      }),
      "packages.0.environmentVariables.0.format",
    ],
    [
      "repository without source",
      () => ({ ...valid(), repository: { url: "https://github.com/x/y" } }),
      "repository.source",
    ],
    ["websiteUrl not a URI", () => ({ ...valid(), websiteUrl: "not a url" }), "websiteUrl"],
    ["icon over http", () => ({ ...valid(), icons: [{ src: "http://x/icon.png" }] }), "icons.0.src"],
    [
      "npm without version",
      () => ({ ...valid(), packages: [{ ...valid().packages[0], version: undefined }] }),
      "packages.0.version",
    ],
    ["neither packages nor remotes", () => ({ ...valid(), packages: [] }), "packages"],
    [
      "hostile key",
      () => JSON.parse('{"name":"a.b/c","description":"d","version":"1","__proto__":{"x":1}}'),
      "__proto__",
    ],
  ])("refuses %s with SPEC_INVALID and the path", (_what, make, path) => {
    const err = errorOf(() => parseRegistryServer(make()));
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path)).toContain(path);
  });
});
