import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Role, roleAllows } from "../src/auth/keys.js";
import { KEYS, startTestHost, type TestHost, type TestRole } from "./helpers.js";

let host: TestHost;
beforeAll(async () => {
  host = await startTestHost({ CORS_ORIGINS: "https://console.example" });
});
afterAll(async () => {
  await host?.close();
});

interface Route {
  method: string;
  path: string;
  role: Role | "public";
  id: string;
}

/** Every operation of the OpenAPI document plus the MCP routes, with path parameters filled in. */
async function routes(): Promise<Route[]> {
  const doc = (await host.call("GET", "/openapi.json", { role: "none" })).body;
  const out: Route[] = [];
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(methods)) {
      out.push({
        method: method.toUpperCase(),
        path: path.replace(/\{[^}]+\}/g, "matrix-missing"),
        role: op["x-required-role"],
        id: op.operationId,
      });
    }
  }
  out.push({ method: "POST", path: "/mcp/matrix-missing", role: "operator", id: "mcpInstance" });
  out.push({ method: "POST", path: "/mcp", role: "operator", id: "mcpAggregate" });
  out.push({ method: "POST", path: "/control/mcp", role: "viewer", id: "mcpControl" });
  return out;
}

/** A stream that stays open (GET /v1/events): its status and headers, then the connection is dropped. */
async function streamHead(path: string, role: TestRole | "none") {
  const controller = new AbortController();
  const headers: Record<string, string> = role === "none" ? {} : { authorization: `Bearer ${KEYS[role]}` };
  const res = await fetch(`${host.url}${path}`, { headers, signal: controller.signal });
  const body = res.ok ? undefined : await res.json();
  controller.abort();
  return { status: res.status, headers: res.headers, body };
}

describe("auth matrix: each role x each route", () => {
  it("covers every documented operation", async () => {
    const r = await routes();
    expect(r.length).toBeGreaterThan(25);
    expect(r.map((x) => x.id)).toEqual(
      expect.arrayContaining(["createInstance", "deleteServer", "listTemplates", "startContainer", "metrics"]),
    );
  });

  for (const role of ["none", "viewer", "operator", "admin"] as const) {
    it(`role ${role}`, async () => {
      const failures: string[] = [];
      for (const route of await routes()) {
        const body = route.method === "GET" || route.method === "DELETE" ? undefined : {};
        const r =
          route.id === "streamEvents"
            ? await streamHead(route.path, role)
            : await host.call(route.method, route.path, { role, ...(body ? { body } : {}) });
        let expected: "allowed" | 401 | 403;
        if (route.role === "public") expected = "allowed";
        else if (role === "none") expected = 401;
        else expected = roleAllows(role as Role, route.role) ? "allowed" : 403;
        const ok = expected === "allowed" ? r.status !== 401 && r.status !== 403 : r.status === expected;
        if (!ok)
          failures.push(
            `${route.method} ${route.path} (${route.id}, needs ${route.role}): got ${r.status}, expected ${expected}`,
          );
        if (expected !== "allowed") {
          expect(r.headers.get("content-type")).toContain("application/problem+json");
          expect(r.body.code).toBe(expected === 401 ? "UNAUTHORIZED" : "FORBIDDEN");
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it("accepts X-API-Key as well as Bearer, and refuses a wrong key with WWW-Authenticate", async () => {
    const viaHeader = await host.call("GET", "/v1/mcp-servers", {
      role: "none",
      headers: { "x-api-key": KEYS.viewer },
    });
    expect(viaHeader.status).toBe(200);
    const wrong = await host.call("GET", "/v1/mcp-servers", {
      role: "none",
      headers: { authorization: `Bearer ${KEYS.viewer}x` },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain("Bearer");
    expect(wrong.body.detail).toBe("invalid API key");
  });
});

describe("audit log", () => {
  it("records who, what, target and result of changes and denials; never keys or secret values", async () => {
    const canary = "CANARY-5f1e-never-log-me";
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: {
        name: "audited-1",
        json_spec: { type: "docker", image: "mcp/echo:1", port: 8000 },
        secrets: { API_KEY: canary },
      },
    });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(canary);
    expect(created.body.json_spec.environment.API_KEY).toMatch(/^secret_ref:/);
    const got = await host.call("GET", `/v1/mcp-server-instances/${created.body.id}`, { role: "viewer" });
    expect(got.text).not.toContain(canary);
    const denied = await host.call("DELETE", `/v1/mcp-server-instances/${created.body.id}`, { role: "viewer" });
    expect(denied.status).toBe(403);
    const bad = await host.call("POST", "/v1/mcp-server-instances", {
      role: "operator",
      body: { name: "bad", json_spec: { type: "docker" }, secrets: { X: canary } },
    });
    expect(bad.status).toBe(422);
    expect(bad.text).not.toContain(canary);

    await new Promise((r) => setTimeout(r, 50)); // the audit stream is asynchronous
    const text = readFileSync(host.auditPath, "utf8");
    expect(text).not.toContain(canary);
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
    const entries = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const create = entries.find((e) => e.action === "createInstance" && e.target === created.body.id);
    expect(create).toMatchObject({ actor: "op", role: "operator", method: "POST", result: "ok", status: 201 });
    expect(Date.parse(create.time)).not.toBeNaN();
    expect(entries).toContainEqual(
      expect.objectContaining({
        action: "deleteInstance",
        actor: "view",
        result: "denied",
        status: 403,
        target: created.body.id,
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        action: "createInstance",
        actor: "op",
        result: "error",
        status: 422,
        code: "SPEC_INVALID",
      }),
    );
  });
});

describe("CORS", () => {
  it("answers preflights for configured origins only", async () => {
    const pre = await fetch(`${host.url}/v1/mcp-servers`, {
      method: "OPTIONS",
      headers: {
        origin: "https://console.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://console.example");
    expect(pre.headers.get("access-control-allow-headers")).toContain("Authorization");
    const other = await host.call("GET", "/health", { role: "none", headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const same = await host.call("GET", "/health", { role: "none", headers: { origin: "https://console.example" } });
    expect(same.headers.get("access-control-allow-origin")).toBe("https://console.example");
  });
});

describe("rate limits", () => {
  it("gives each key its own token bucket and answers 429 with Retry-After", async () => {
    const limited = await startTestHost({ RATE_LIMIT_BURST: "3", RATE_LIMIT_RPS: "0.2" });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await limited.call("GET", "/v1/mcp-servers", { role: "viewer" })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const r = await limited.call("GET", "/v1/mcp-servers", { role: "viewer" });
      expect(r.body.code).toBe("RATE_LIMITED");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const other: TestRole = "operator";
      expect((await limited.call("GET", "/v1/mcp-servers", { role: other })).status).toBe(200);
      // unauthenticated guessing is throttled per address
      const guesses: number[] = [];
      for (let i = 0; i < 5; i++)
        guesses.push(
          (await limited.call("GET", "/v1/mcp-servers", { role: "none", headers: { "x-api-key": `guess-${i}` } }))
            .status,
        );
      expect(guesses).toContain(429);
    } finally {
      await limited.close();
    }
  });
});
