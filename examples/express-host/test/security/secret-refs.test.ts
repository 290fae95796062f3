import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "../helpers.js";

// Issue 14, findings 2 and 3, replayed against the listening host (file store, encrypted file secrets).
const CANARY = "canary-4d1e-secret-ref-attack";
let host: TestHost;

beforeAll(async () => {
  host = await startTestHost({ FLEET_STORE: "file", FLEET_SECRETS: "file", SECRETS_KEY: "test-passphrase-123456" });
});
afterAll(async () => {
  await host?.close();
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const docker = (environment: Record<string, string> = {}) => ({
  type: "docker",
  image: "mcp/filesystem:latest",
  port: 8001,
  environment,
});

describe("finding 2: cross-instance secret refs", () => {
  it("an operator cannot point an instance at another instance's secret scope (create, update, put)", async () => {
    const victim = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "victim", json_spec: docker(), secrets: { API_KEY: CANARY } },
    });
    expect(victim.status).toBe(201);
    const stolen = `secret_ref:instance_${victim.body.id}:API_KEY`;
    const create = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "thief", json_spec: docker({ STOLEN: stolen }) },
    });
    expect(create.status).toBe(403);
    expect(create.body.code).toBe("SECRET_SCOPE_REFUSED");
    expect(create.body.path).toBe("json_spec.environment.STOLEN");
    const thief = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "thief", json_spec: docker() },
    });
    expect(thief.status).toBe(201);
    for (const method of ["PATCH", "PUT"]) {
      const upd = await host.call(method, `/v1/mcp-server-instances/${thief.body.id}`, {
        role: "operator",
        body: { json_spec: docker({ STOLEN: stolen }) },
      });
      expect(upd.status).toBe(403);
      expect(upd.body.code).toBe("SECRET_SCOPE_REFUSED");
    }
    // granting a scope is an admin's decision
    const grant = await host.call("PATCH", `/v1/mcp-server-instances/${thief.body.id}`, {
      role: "operator",
      body: { secret_scopes: [`instance_${victim.body.id}`] },
    });
    expect(grant.status).toBe(403);
    expect(grant.body.code).toBe("FORBIDDEN");
    expect(grant.body.path).toBe("secret_scopes");
    const admin = await host.call("POST", "/v1/mcp-server-instances", {
      role: "admin",
      body: { name: "granted", json_spec: docker({ K: "secret_ref:shared-team:K" }), secret_scopes: ["shared-team"] },
    });
    expect(admin.status).toBe(201);
    expect(admin.body.secret_scopes).toEqual(["shared-team"]);
    expect(JSON.stringify([create.body, thief.body, grant.body])).not.toContain(CANARY);
  });
});

describe("finding 3: literal credentials of url instances", () => {
  it("are moved into the secret store; REST, the store file and the audit log hold refs only", async () => {
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: {
        name: "remote",
        start: false,
        json_spec: {
          type: "url",
          endpoint: "https://mcp.example.com/mcp",
          authentication: { type: "bearer", token: `${CANARY}-token` },
          headers: { "X-Api-Key": `${CANARY}-header` },
        },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.json_spec.authentication.token).toBe(`secret_ref:instance_${created.body.id}:AUTH_TOKEN`);
    expect(created.body.json_spec.headers["X-Api-Key"]).toMatch(/^secret_ref:instance_.*:headers\.X-Api-Key$/);
    for (const path of [`/v1/mcp-server-instances/${created.body.id}`, "/v1/mcp-server-instances"]) {
      const got = await host.call("GET", path, { role: "viewer" });
      expect(got.status).toBe(200);
      expect(got.text).not.toContain(CANARY);
    }
    for (const f of filesUnder(host.dir)) expect(readFileSync(f, "utf8"), f).not.toContain(CANARY);
  });
});
