import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "../helpers.js";

let a: TestHost;
let b: TestHost;
let dir: string;
const as = (key: string) => ({ role: "none" as const, headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  // two replicas sharing one file store (one data dir), each with its own store handle and key cache
  dir = mkdtempSync(join(tmpdir(), "mcpfleet-keys-"));
  const env = { FLEET_STORE: "file", DATA_DIR: dir, KEYS_CACHE_TTL_MS: "500" };
  a = await startTestHost({ ...env, AUDIT_LOG: join(dir, "audit-a.log") });
  b = await startTestHost({ ...env, AUDIT_LOG: join(dir, "audit-b.log") });
}, 30_000);
afterAll(async () => {
  await a?.close();
  await b?.close();
});

/** A key created on one replica reaches the other within its cache time. */
async function firstUse(host: TestHost, key: string): Promise<number> {
  let status = 0;
  for (let i = 0; i < 30 && status !== 200; i++) {
    status = (await host.call("GET", "/v1/mcp-servers", as(key))).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}

const create = async (host: TestHost, body: Record<string, unknown>) => {
  const r = await host.call("POST", "/v1/api-keys", { body });
  expect(r.status).toBe(201);
  return r.body as { id: string; key: string };
};

describe("managed API keys", () => {
  it("shows the key once, lists without keys or hashes, and refuses non-admins", async () => {
    const k = await create(a, { name: "ci", role: "operator", policy: { tools: { deny: ["delete_*"] } } });
    expect(k.key).toMatch(/^mcpf_/);
    const list = await a.call("GET", "/v1/api-keys");
    expect(list.text).not.toContain(k.key);
    expect(list.text).not.toContain("sha256");
    expect(list.body.items).toContainEqual(
      expect.objectContaining({
        id: k.id,
        role: "operator",
        revoked_at: null,
        policy: { tools: { deny: ["delete_*"] } },
      }),
    );
    expect(
      (await a.call("POST", "/v1/api-keys", { role: "operator", body: { name: "x", role: "admin" } })).status,
    ).toBe(403);
    expect((await a.call("GET", "/v1/api-keys", as(k.key))).status).toBe(403);
  });

  it("refuses a malformed policy naming its path", async () => {
    const r = await a.call("POST", "/v1/api-keys", {
      body: { name: "bad", role: "viewer", policy: { tools: { allow: "x" } } },
    });
    expect(r.status).toBe(422);
    expect(r.text).toContain("policy.tools.allow");
  });

  it("role x route: each managed key role on viewer, operator and admin routes, on both replicas", async () => {
    const routes = [
      { method: "GET", path: "/v1/mcp-servers", need: 0 },
      { method: "POST", path: "/mcp", need: 1 },
      { method: "GET", path: "/v1/api-keys", need: 2 },
    ];
    const failures: string[] = [];
    for (const [i, role] of (["viewer", "operator", "admin"] as const).entries()) {
      const k = await create(a, { name: `matrix-${role}`, role });
      expect(await firstUse(b, k.key)).toBe(200);
      for (const host of [a, b])
        for (const r of routes) {
          const res = await host.call(r.method, r.path, { ...as(k.key), ...(r.method === "POST" ? { body: {} } : {}) });
          const allowed = i >= r.need;
          if (allowed ? res.status === 401 || res.status === 403 : res.status !== 403)
            failures.push(`${role} ${r.method} ${r.path}: ${res.status}`);
        }
    }
    expect(failures).toEqual([]);
  });

  it("records the last-used time in the shared store", async () => {
    const k = await create(a, { name: "used", role: "viewer" });
    expect(await firstUse(b, k.key)).toBe(200);
    let used: string | null = null;
    for (let i = 0; i < 50 && !used; i++) {
      used = (await a.call("GET", `/v1/api-keys/${k.id}`)).body.last_used_at;
      if (!used) await new Promise((r) => setTimeout(r, 100));
    }
    expect(Date.parse(used!)).not.toBeNaN();
  });

  it("a revocation on one replica takes effect on the other within seconds", async () => {
    const k = await create(a, { name: "revoked", role: "operator" });
    expect(await firstUse(b, k.key)).toBe(200);
    const revoked = await a.call("DELETE", `/v1/api-keys/${k.id}`);
    expect(revoked.status).toBe(200);
    expect(Date.parse(revoked.body.revoked_at)).not.toBeNaN();
    expect((await a.call("GET", "/v1/mcp-servers", as(k.key))).status).toBe(401);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 5000) {
      status = (await b.call("GET", "/v1/mcp-servers", as(k.key))).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
  });

  it("refuses an expired key", async () => {
    const k = await create(a, { name: "short", role: "viewer", expires_at: new Date(Date.now() + 1500).toISOString() });
    expect(await firstUse(b, k.key)).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    expect((await b.call("GET", "/v1/mcp-servers", as(k.key))).status).toBe(401);
  });

  it("never writes a key to the store file or the audit logs", async () => {
    const k = await create(a, { name: "canary", role: "viewer" });
    await a.call("GET", "/v1/mcp-servers", as(`${k.key}x`));
    await new Promise((r) => setTimeout(r, 100));
    for (const f of ["store.json", "audit-a.log", "audit-b.log"]) {
      const text = readFileSync(join(dir, f), "utf8");
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain(k.key);
    }
  });
});
