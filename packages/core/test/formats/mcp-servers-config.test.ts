// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the documents under test use ${input:...} / ${env:...} placeholders
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkName } from "../../src/engine/spec-input.js";
import {
  type FleetError,
  importSecrets,
  missingSecrets,
  parseInstanceSpec,
  parseMcpServersConfig,
  sanitizeInstanceName,
} from "../../src/index.js";

const doc = (name: string) => JSON.parse(readFileSync(join(__dirname, "../fixtures/formats", name), "utf8"));
const byName = (plan: ReturnType<typeof parseMcpServersConfig>, source: string) =>
  plan.instances.find((i) => i.source === source)!;
const errorOf = (fn: () => unknown): FleetError => {
  try {
    fn();
  } catch (e) {
    return e as FleetError;
  }
  throw new Error("expected an error");
};

describe("parseMcpServersConfig: real-shaped documents", () => {
  it("Claude Desktop: npx servers become process specs; names sanitized; literal token to the secret store", () => {
    const plan = parseMcpServersConfig(doc("claude-desktop.json"));
    expect(plan.format).toBe("mcpServers");
    expect(plan.instances.map((i) => i.name)).toEqual([
      "everything",
      "memory",
      "filesystem",
      "sequential-thinking",
      "github",
      "Brave-Search-web",
    ]);
    for (const i of plan.instances) expect(checkName(i.name)).toBe(i.name);
    expect(byName(plan, "memory").json_spec).toEqual({
      type: "process",
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-memory"],
      env: { MEMORY_FILE_PATH: "/tmp/memory.json" },
    });
    const gh = byName(plan, "github");
    expect(JSON.stringify(gh.json_spec)).not.toContain("ghp_");
    expect(gh.secretValues).toEqual({ GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_exampleLiteralToken1234567890" });
    const brave = byName(plan, "Brave Search (web)");
    expect(brave.json_spec.env).toBeUndefined();
    expect(brave.slots).toEqual([
      {
        key: "BRAVE_API_KEY",
        template: "${env:BRAVE_API_KEY}",
        uses: ["BRAVE_API_KEY"],
        path: "mcpServers.Brave Search (web).env.BRAVE_API_KEY",
      },
    ]);
    expect(plan.prompts).toEqual([{ name: "BRAVE_API_KEY", from: "env", required: true }]);
    // every spec is valid as written
    for (const i of plan.instances) expect(() => parseInstanceSpec(i.json_spec)).not.toThrow();
  });

  it("Cursor: url entry with a credential header template; env placeholder inside a connection string", () => {
    const plan = parseMcpServersConfig(doc("cursor.json"));
    const linear = byName(plan, "linear");
    expect(linear.json_spec).toEqual({
      type: "url",
      endpoint: "https://mcp.linear.app/mcp",
      transport: "streamable-http",
      headers: { "X-Client": "cursor" },
    });
    expect(linear.slots[0]).toMatchObject({ key: "headers.Authorization", uses: ["LINEAR_API_KEY"] });
    expect(importSecrets(linear, { LINEAR_API_KEY: "lin_123" })).toEqual({ "headers.Authorization": "Bearer lin_123" });
    const pg = byName(plan, "postgres");
    expect(importSecrets(pg, { PG_PASSWORD: "pw" })).toEqual({
      DATABASE_URL: "postgresql://app:pw@db.internal:5432/app",
    });
    expect(byName(plan, "time").json_spec.args).toEqual(["mcp-server-time", "--local-timezone=Europe/Berlin"]);
    expect(plan.prompts.map((p) => p.name)).toEqual(["LINEAR_API_KEY", "PG_PASSWORD"]);
  });

  it("VS Code: servers + inputs; inputs' descriptions on the prompts; http and sse types", () => {
    const plan = parseMcpServersConfig(doc("vscode.json"));
    expect(plan.format).toBe("vscode");
    expect(plan.prompts).toEqual([
      { name: "perplexity-key", from: "input", required: true, description: "Perplexity API Key" },
      { name: "gh_token", from: "input", required: true, description: "GitHub token" },
    ]);
    expect(byName(plan, "github").json_spec).toMatchObject({ type: "url", transport: "streamable-http" });
    expect(byName(plan, "legacy_sse").json_spec).toEqual({
      type: "url",
      endpoint: "http://localhost:3001/sse",
      transport: "sse",
    });
    expect(missingSecrets(plan.instances, { gh_token: "t" })).toEqual(["perplexity-key"]);
    const err = errorOf(() => importSecrets(byName(plan, "Perplexity"), {}));
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues).toEqual([{ path: "secrets.perplexity-key", message: "is required (a secret to supply)" }]);
  });

  it("VS Code settings.json form ({mcp: {servers, inputs}})", () => {
    const plan = parseMcpServersConfig({ mcp: doc("vscode.json") });
    expect(plan.instances).toHaveLength(3);
  });

  it("Windsurf: serverUrl; credential header literal moved out; disabled entries do not start", () => {
    const plan = parseMcpServersConfig(doc("windsurf.json"));
    const figma = byName(plan, "figma");
    expect(figma.json_spec).toEqual({
      type: "url",
      endpoint: "https://mcp.figma.com/mcp",
      transport: "streamable-http",
    });
    expect(figma.secretValues).toEqual({ "headers.X-Figma-Token": "figd_literal_example_token" });
    expect(byName(plan, "puppeteer").start).toBe(false);
    expect(figma.start).toBe(true);
  });

  it.each([
    [null, ""],
    [{ other: {} }, ""],
    [{ mcpServers: [] }, "mcpServers"],
    [{ mcpServers: {} }, "mcpServers"],
    [{ mcpServers: { a: { args: ["x"] } } }, "mcpServers.a.command"],
    [{ mcpServers: { a: { command: "npx", args: [1] } } }, "mcpServers.a.args.0"],
    [{ mcpServers: { a: { command: "npx", args: ["--token", "${input:t}"] } } }, "mcpServers.a.args.1"],
    [{ mcpServers: { a: { command: "npx", args: ["${workspaceFolder}"] } } }, "mcpServers.a.args.0"],
    [{ mcpServers: { a: { command: "npx", env: { "BAD-NAME": "x" } } } }, "mcpServers.a.env.BAD-NAME"],
    [{ mcpServers: { a: { command: "npx", envFile: "${workspaceFolder}/.env" } } }, "mcpServers.a.envFile"],
    [{ mcpServers: { a: { type: "http" } } }, "mcpServers.a.url"],
    [{ mcpServers: { a: { url: "ftp://x/y" } } }, "mcpServers.a.url"],
    [{ mcpServers: { a: { url: "https://x/${input:k}" } } }, "mcpServers.a.url"],
    [{ mcpServers: { a: { type: "websocket", url: "https://x" } } }, "mcpServers.a.type"],
    [{ servers: { a: { type: "stdio", command: "x" } }, inputs: [{ id: "bad id" }] }, "inputs.0.id"],
  ])("refuses %j with SPEC_INVALID at %s", (input, path) => {
    const err = errorOf(() => parseMcpServersConfig(input));
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path)).toContain(path);
  });

  it("refuses more than MAX_IMPORTED_SERVERS entries", () => {
    const mcpServers = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`s${i}`, { command: "x" }]));
    const err = errorOf(() => parseMcpServersConfig({ mcpServers }));
    expect(err.issues).toEqual([{ path: "mcpServers", message: "must describe at most 256 servers" }]);
  });

  it("reports every bad entry at once", () => {
    const err = errorOf(() =>
      parseMcpServersConfig({ mcpServers: { a: { command: "" }, b: { url: "nope" }, ok: { command: "npx" } } }),
    );
    expect(err.issues.map((i) => i.path).sort()).toEqual(["mcpServers.a.command", "mcpServers.b.url"]);
  });

  it.each([
    ["GitHub", "GitHub"],
    ["Brave Search (web)", "Brave-Search-web"],
    ["__init__", "init"],
    ["a__b", "a_b"],
    ["über", "uber"],
    ["@scope/pkg", "scope-pkg"],
    ["!!!", "server"],
    ["x".repeat(300), "x".repeat(128)],
  ])("sanitizes %s to %s (a valid instance name)", (raw, want) => {
    expect(sanitizeInstanceName(raw)).toBe(want);
    expect(checkName(sanitizeInstanceName(raw))).toBe(want);
  });

  it("duplicate names after sanitizing get suffixes", () => {
    const plan = parseMcpServersConfig({ mcpServers: { "a b": { command: "x" }, "a-b": { command: "y" } } });
    expect(plan.instances.map((i) => i.name)).toEqual(["a-b", "a-b-2"]);
  });
});
