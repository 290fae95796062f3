// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the documents under test use ${input:...} / ${env:...} placeholders
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startTestHost, type TestHost } from "./helpers.js";

const FIXTURES = join(REPO_ROOT, "packages/core/test/fixtures");
const doc = (dir: string, name: string) => JSON.parse(readFileSync(join(FIXTURES, dir, name), "utf8"));
const LITERAL_TOKEN = "ghp_exampleLiteralToken1234567890";

let host: TestHost;
beforeAll(async () => {
  // the VS Code fixture has an SSE server on localhost: the quick-start allowlist
  host = await startTestHost({ ENDPOINT_ALLOW: "loopback" });
});
afterAll(async () => {
  await host?.close();
});

describe("POST /v1/import against the listening host", () => {
  it("dry run returns the plan (names, specs, secrets needed, missing) and creates nothing; no secret value shown", async () => {
    const r = await host.call("POST", "/v1/import?dry_run=true", {
      role: "operator",
      body: doc("formats", "claude-desktop.json"),
    });
    expect(r.status).toBe(200);
    expect(r.body.dry_run).toBe(true);
    expect(r.body.format).toBe("mcpServers");
    expect(r.body.instances.map((i: any) => i.name)).toContain("sequential-thinking");
    expect(r.body.instances.find((i: any) => i.name === "github").secrets).toEqual(["GITHUB_PERSONAL_ACCESS_TOKEN"]);
    expect(r.body.missing_secrets).toEqual(["BRAVE_API_KEY"]);
    expect(r.text).not.toContain(LITERAL_TOKEN);
    expect((await host.fleet.instances.list()).length).toBe(0);
    const flag = await host.call("POST", "/v1/import", {
      role: "operator",
      body: { document: doc("formats", "claude-desktop.json"), dry_run: true },
    });
    expect(flag.status).toBe(200);
    expect((await host.fleet.instances.list()).length).toBe(0);
  });

  it("missing placeholder secrets: 422 listing them, nothing created", async () => {
    const r = await host.call("POST", "/v1/import", { role: "operator", body: doc("formats", "claude-desktop.json") });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("SPEC_INVALID");
    expect(r.body.issues).toEqual([{ path: "secrets.BRAVE_API_KEY", message: expect.stringContaining("required") }]);
    expect((await host.fleet.instances.list()).length).toBe(0);
  });

  it("creates every server of a Claude Desktop document; secrets land in the secret store as refs and reach the runtime", async () => {
    const body = { ...doc("formats", "claude-desktop.json"), secrets: { BRAVE_API_KEY: "brave-value-42" } };
    // process instances are admin-only, on import as on POST /v1/mcp-server-instances (one place decides)
    const asOperator = await host.call("POST", "/v1/import", { role: "operator", body });
    expect(asOperator.status).toBe(403);
    expect(asOperator.body.issues[0].path).toBe("json_spec.type");
    expect((await host.fleet.instances.list()).filter((i) => i.desired_state !== "deleted")).toEqual([]);
    const r = await host.call("POST", "/v1/import", { role: "admin", body });
    expect(r.status).toBe(201);
    expect(r.body.instances).toHaveLength(6);
    expect(r.text).not.toContain(LITERAL_TOKEN);
    expect(r.text).not.toContain("brave-value-42");
    const gh = r.body.instances.find((i: any) => i.name === "github");
    expect(gh.json_spec.environment.GITHUB_PERSONAL_ACCESS_TOKEN).toBe(
      `secret_ref:instance_${gh.id}:GITHUB_PERSONAL_ACCESS_TOKEN`,
    );
    const brave = r.body.instances.find((i: any) => i.name === "Brave-Search-web");
    expect(brave.json_spec.env).toBeUndefined();
    expect(brave.json_spec.environment.BRAVE_API_KEY).toBe(`secret_ref:instance_${brave.id}:BRAVE_API_KEY`);
    // running means every ref resolved from the secret store at deploy (a missing one fails with SECRET_NOT_FOUND)
    await host.fleet.instances.waitFor(brave.id, "running", { timeoutMs: 10_000 });
    await host.fleet.instances.waitFor(gh.id, "running", { timeoutMs: 10_000 });
    // a second import of the same document: 409 naming the existing instances
    const again = await host.call("POST", "/v1/import", { role: "admin", body });
    expect(again.status).toBe(409);
    expect(again.body.issues.map((i: any) => i.path)).toContain("instances.github");
    const dry = await host.call("POST", "/v1/import?dry_run=1", { role: "viewer", body });
    expect(dry.status).toBe(403);
  });

  it("VS Code document with inputs: url instance with the Authorization header as a secret ref", async () => {
    const body = { document: doc("formats", "vscode.json"), secrets: { "perplexity-key": "pk", gh_token: "ghs_abc" } };
    // "github" exists from the Claude Desktop import: refused as a whole, nothing created
    const before = (await host.fleet.instances.list()).length;
    const clash = await host.call("POST", "/v1/import", { role: "admin", body });
    expect(clash.status).toBe(409);
    expect(clash.body.issues).toEqual([{ path: "instances.github", message: expect.any(String) }]);
    expect((await host.fleet.instances.list()).length).toBe(before);
    expect((await host.call("DELETE", "/v1/mcp-server-instances/github", { role: "operator" })).status).toBe(202);
    const r = await host.call("POST", "/v1/import", { role: "admin", body });
    expect(r.status).toBe(201);
    const gh = r.body.instances.find((i: any) => i.name === "github");
    expect(gh.json_spec.headers.Authorization).toBe(`secret_ref:instance_${gh.id}:headers.Authorization`);
    expect(r.text).not.toContain("ghs_abc");
    const conn = await host.fleet.instances.get(gh.id);
    expect(JSON.stringify(conn)).not.toContain("ghs_abc");
  });

  it("a server.json: registering its definition needs admin; then operators reuse it", async () => {
    const body = { ...doc("registry", "pypi-weather.server.json"), secrets: { OPENWEATHER_API_KEY: "owm-1" } };
    const asOperator = await host.call("POST", "/v1/import", { role: "operator", body });
    expect(asOperator.status).toBe(403);
    const plan = await host.call("POST", "/v1/import?dry_run=true", {
      role: "operator",
      body: doc("registry", "pypi-weather.server.json"),
    });
    expect(plan.status).toBe(200);
    expect(plan.body.server_exists).toBe(false);
    expect(plan.body.problems).toEqual([{ path: "values.OPENWEATHER_API_KEY", message: expect.any(String) }]);
    const asAdmin = await host.call("POST", "/v1/import", { role: "admin", body });
    expect(asAdmin.status).toBe(201);
    const inst = asAdmin.body.instances[0];
    expect(inst.name).toBe("weather");
    expect(inst.server_spec_id).toBe(asAdmin.body.server_spec_id);
    expect(inst.json_spec.args).toEqual(["weather-mcp-server==0.6.1", "--units", "metric"]);
    expect(inst.json_spec.environment.OPENWEATHER_API_KEY).toMatch(/^secret_ref:/);
    expect(asAdmin.text).not.toContain("owm-1");
    const server = await host.call("GET", `/v1/mcp-servers/${inst.server_spec_id}`, { role: "viewer" });
    expect(server.body.env_schema.find((e: any) => e.name === "OPENWEATHER_API_KEY")).toMatchObject({
      secret: true,
      required: true,
    });
    // an operator may not create its process instance, even with the definition registered
    const second = await host.call("POST", "/v1/import", {
      role: "operator",
      body: { ...body, instance_name: "weather-2" },
    });
    expect(second.status).toBe(403);
    // a remote server.json: registered once by an admin, then reused by operators
    const remote = {
      ...doc("registry", "remote-variables.server.json"),
      values: { tenant: "acme" },
      secrets: { api_key: "k" },
    };
    expect((await host.call("POST", "/v1/import", { role: "operator", body: remote })).status).toBe(403);
    const first = await host.call("POST", "/v1/import", { role: "admin", body: remote });
    expect(first.status).toBe(201);
    const reuse = await host.call("POST", "/v1/import", {
      role: "operator",
      body: { ...remote, instance_name: "tenant-2" },
    });
    expect(reuse.status).toBe(201);
    expect(reuse.body.server_spec_id).toBe(first.body.server_spec_id);
  });

  it.each([
    [{ mcpServers: { a: { command: "npx", args: ["${input:tok}"] } } }, "mcpServers.a.args.0"],
    [
      { name: "io.x/y", description: "d".repeat(101), version: "1", remotes: [{ type: "sse", url: "https://x" }] },
      "description",
    ],
    [{ hello: "world" }, ""],
    [{ mcpServers: { a: { command: "x" } }, secrets: ["nope"] }, "secrets"],
  ])("bad documents: 422 SPEC_INVALID with the path (%#)", async (body, path) => {
    const r = await host.call("POST", "/v1/import", { role: "operator", body });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("SPEC_INVALID");
    expect(r.body.issues.map((i: any) => i.path)).toContain(path);
  });

  it("all or nothing: a refused entry (metadata endpoint) rolls back the ones created before it", async () => {
    const body = {
      mcpServers: {
        "rb-first": { command: "npx", args: ["-y", "x"] },
        "rb-second": { url: "http://169.254.169.254/mcp" },
      },
    };
    const r = await host.call("POST", "/v1/import", { role: "admin", body });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("ENDPOINT_REFUSED");
    const left = (await host.fleet.instances.list()).filter(
      (i) => i.name.startsWith("rb-") && i.desired_state !== "deleted",
    );
    expect(left).toEqual([]);
  });

  it("unauthenticated callers are refused", async () => {
    const r = await host.call("POST", "/v1/import", { role: "none", body: doc("formats", "cursor.json") });
    expect(r.status).toBe(401);
  });
});
