import { createServer } from "node:net";
import { generateKeyPair, importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost } from "../helpers.js";
import { policyToolServer } from "./policy-tools.js";
import { startProvider } from "./provider.js";

// Attacks against the real listening host with real tokens from a real OpenID provider: forged
// credentials on every route, and attempts to get around a token's policy by another way in.

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

let op: Awaited<ReturnType<typeof startProvider>>;
let host: TestHost;
let audience: string;
let upstream: Awaited<ReturnType<typeof policyToolServer>>;
let otherId: string;
let operator: string;

beforeAll(async () => {
  op = await startProvider({ scope: "mcpfleet:operator mcpfleet:viewer", claims: { groups: ["agents"] } });
  upstream = await policyToolServer(true);
  const port = await freePort();
  audience = `http://127.0.0.1:${port}/`;
  const { writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const bindings = join(process.env.TMPDIR ?? "/tmp", `mcpfleet-attacks-${process.pid}-${Date.now()}.json`);
  writeFileSync(
    bindings,
    JSON.stringify({
      policies: [
        {
          name: "agents",
          match: { claim: "groups", value: "agents" },
          policy: { instances: { names: ["repo-*"] }, tools: { deny: ["delete_*"] } },
        },
      ],
    }),
  );
  host = await startTestHost({
    PORT: String(port),
    AUTH: "keys,oidc",
    OIDC_ISSUER: op.issuer,
    OIDC_AUDIENCE: audience,
    OIDC_POLICIES_FILE: bindings,
    ALLOW_UNSAFE_ENDPOINTS: "true",
  });
  for (const name of ["repo-a", "other"]) {
    const r = await host.call("POST", "/v1/mcp-server-instances", {
      body: { name, json_spec: { type: "url", endpoint: upstream.url } },
    });
    expect(r.status).toBe(201);
    if (name === "other") otherId = r.body.id;
    await host.fleet.instances.waitFor(name, "running", { timeoutMs: 20_000 });
  }
  operator = await op.token(audience, "mcpfleet:operator");
}, 60_000);

afterAll(async () => {
  await host?.close();
  await op?.close();
  await upstream?.close();
});

const post = (token: string, path: string, body: unknown) =>
  fetch(`${host.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify(body),
  });
/** A JSON-RPC answer, sent as JSON or as one SSE `message` event. */
async function answer<T>(r: Response): Promise<T> {
  const text = await r.text();
  if (!text.startsWith("event:") && !text.startsWith("data:")) return JSON.parse(text) as T;
  const data = text
    .split(/\r?\n/)
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trim());
  return JSON.parse(data.at(-1)!) as T;
}
const call = (id: number, name: string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: {} },
});
const INIT = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "attacker", version: "1" } },
};

describe("forged and stale tokens on every route", () => {
  const routes = ["/mcp", "/mcp/repo-a", "/control/mcp", "/v1/mcp-server-instances"];
  const forged = async (): Promise<Record<string, string>> => {
    const now = Math.floor(Date.now() / 1000);
    const jwk = op.signingKey();
    const own = await importJWK(jwk, "RS256");
    const claims = { scope: "mcpfleet:operator mcpfleet:admin", groups: ["admins"] };
    const sign = (key: Parameters<SignJWT["sign"]>[0], kid: string, edit: (j: SignJWT) => SignJWT) =>
      edit(
        new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).setIssuer(op.issuer).setSubject("mallory"),
      ).sign(key);
    const { privateKey } = await generateKeyPair("RS256");
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const [payloadOk] = [b64({ iss: op.issuer, aud: audience, exp: now + 300, ...claims })];
    return {
      "wrong audience (a real token for another resource)": await op.token("https://elsewhere.example/"),
      expired: await sign(own, jwk.kid!, (j) =>
        j
          .setAudience(audience)
          .setIssuedAt(now - 3600)
          .setExpirationTime(now - 120),
      ),
      "not yet valid": await sign(own, jwk.kid!, (j) =>
        j
          .setAudience(audience)
          .setNotBefore(now + 600)
          .setExpirationTime(now + 900),
      ),
      "another issuer": await sign(own, jwk.kid!, (j) =>
        j
          .setIssuer("https://evil.example")
          .setAudience(audience)
          .setExpirationTime(now + 300),
      ),
      "unknown key": await sign(privateKey, "attacker", (j) => j.setAudience(audience).setExpirationTime(now + 300)),
      "unknown key under the provider's kid": await sign(privateKey, jwk.kid!, (j) =>
        j.setAudience(audience).setExpirationTime(now + 300),
      ),
      "alg none": `${b64({ alg: "none", typ: "JWT" })}.${payloadOk}.`,
      "HS256 with the public key as secret": await new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", kid: jwk.kid! })
        .setIssuer(op.issuer)
        .setAudience(audience)
        .setExpirationTime(now + 300)
        .sign(new TextEncoder().encode(JSON.stringify({ kty: jwk.kty, n: jwk.n, e: jwk.e }))),
      "a real token with its payload swapped": `${operator.split(".")[0]}.${payloadOk}.${operator.split(".")[2]}`,
    };
  };

  it("answers 401 invalid_token on /mcp, /mcp/<instance>, /control/mcp and REST, and nothing reaches an instance", async () => {
    const before = upstream.calls.length;
    for (const [what, token] of Object.entries(await forged())) {
      for (const path of routes) {
        const r = path.startsWith("/v1")
          ? await fetch(`${host.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
          : await post(token, path, call(1, "list_repos"));
        expect(r.status, `${what} on ${path}`).toBe(401);
        const challenge = r.headers.get("www-authenticate") ?? "";
        expect(challenge, `${what} on ${path}`).toContain('error="invalid_token"');
        if (!path.startsWith("/v1")) expect(challenge).toContain(`resource_metadata="${host.url}/.well-known/`);
        const text = await r.text();
        expect(text).not.toContain(token);
      }
    }
    expect(upstream.calls.length).toBe(before);
  });
});

describe("getting around a token's policy", () => {
  it("/mcp/<instance>: the instance by id, percent-encoded or with a trailing path is refused as by name", async () => {
    for (const path of [`/mcp/other`, `/mcp/${otherId}`, "/mcp/%6Fther", "/mcp/repo-a/../other"]) {
      const r = await post(operator, path, INIT);
      expect([403, 404], path).toContain(r.status);
    }
    const byId = await post(operator, `/mcp/${otherId}`, call(1, "list_repos"));
    expect(((await byId.json()) as { error: { message: string } }).error.message).toContain('policy "agents"');
  });

  it("/mcp/<instance>: a batch smuggling a denied call next to an allowed one is refused whole", async () => {
    const before = upstream.calls.length;
    const r = await post(operator, "/mcp/repo-a", [call(1, "list_repos"), call(2, "delete_repo")]);
    const answers = (await r.json()) as Array<{ id: number; error?: { code: number; message: string } }>;
    expect(answers.map((a) => [a.id, a.error?.code])).toEqual(
      expect.arrayContaining([
        [1, -32003],
        [2, -32003],
      ]),
    );
    expect(upstream.calls.length).toBe(before);
  });

  it("/mcp: the aggregated endpoint refuses a denied tool and another instance's tool with -32003", async () => {
    const before = upstream.calls.length;
    // a 2025-era client on /mcp holds a session (the gateway refuses sessionless 2025 requests)
    const init = await post(operator, "/mcp", INIT);
    const sessionId = init.headers.get("mcp-session-id");
    expect(sessionId).toBeTruthy();
    await answer(init);
    const inSession = (body: unknown) =>
      fetch(`${host.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${operator}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": sessionId!,
          "mcp-protocol-version": "2025-06-18",
        },
        body: JSON.stringify(body),
      });
    await (await inSession({ jsonrpc: "2.0", method: "notifications/initialized" })).text();
    for (const name of ["repo-a__delete_repo", "other__list_repos", "other__delete_repo"]) {
      const r = await inSession(call(7, name));
      const body = await answer<{ error?: { code: number; message: string } }>(r);
      expect(body.error?.code, name).toBe(-32003);
      expect(body.error?.message).toContain('policy "agents"');
    }
    const list = await inSession({ jsonrpc: "2.0", id: 8, method: "tools/list" });
    const names = (await answer<{ result: { tools: Array<{ name: string }> } }>(list)).result.tools.map((t) => t.name);
    expect(names.sort()).toEqual(["repo-a__create_issue", "repo-a__list_repos"]);
    expect(upstream.calls.length).toBe(before);
  });

  it("/control/mcp: the token's instance limit holds for the control-plane tools", async () => {
    const tool = async (name: string, args: Record<string, unknown>) => {
      const r = await post(operator, "/control/mcp", {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name, arguments: args },
      });
      return answer<{ result?: { isError?: boolean; content: Array<{ text: string }> } }>(r);
    };
    for (const name of ["stop_instance", "delete_instance", "get_instance", "instance_logs"]) {
      const r = await tool(name, { id: "other" });
      expect(r.result?.isError, name).toBe(true);
      expect(r.result?.content[0]?.text).toContain("FORBIDDEN");
    }
    const listed = await tool("list_instances", {});
    expect(listed.result?.content[0]?.text).toContain("repo-a");
    expect(listed.result?.content[0]?.text).not.toContain('"other"');
    const made = await tool("create_instance", { name: "sneaky", json_spec: { type: "url", endpoint: upstream.url } });
    expect(made.result?.isError).toBe(true);
    expect((await host.fleet.instances.get("other")).desired_state).toBe("running");
    expect(await host.fleet.instances.list()).not.toContainEqual(expect.objectContaining({ name: "sneaky" }));
  });

  it("GET /v1/events: a token's instance limit holds on the event stream (no event of another instance)", async () => {
    const repoA = (await host.fleet.instances.get("repo-a")).id;
    const read = async (token: string, query: string) => {
      const r = await fetch(`${host.url}/v1/events?follow=false${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.status).toBe(200);
      return r.text();
    };
    const all = await read(operator, "");
    expect(all).toContain(repoA);
    expect(all).not.toContain(otherId);
    expect(await read(operator, "&instance=other")).not.toContain(otherId);
    // an unlimited admin key sees both (the events are there; the filter is the policy's)
    const admin = await read(KEYS.admin, "");
    expect(admin).toContain(otherId);
  });

  it("REST: roles hold for tokens (an operator token cannot register servers; a viewer token cannot stop)", async () => {
    const viewer = await op.token(audience, "mcpfleet:viewer");
    const reg = await fetch(`${host.url}/v1/mcp-servers`, {
      method: "POST",
      headers: { authorization: `Bearer ${operator}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "x" }),
    });
    expect(reg.status).toBe(403);
    const stop = await fetch(`${host.url}/v1/mcp-server-instances/repo-a/stop`, {
      method: "POST",
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(stop.status).toBe(403);
    expect((await host.fleet.instances.get("repo-a")).desired_state).toBe("running");
  });
});

describe("getting around a policy or an instance's tool filter through REST", () => {
  const rest = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${host.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it("the token's instance limit holds on the REST instance operations", async () => {
    for (const [method, path] of [
      ["GET", "/v1/mcp-server-instances/other"],
      ["GET", `/v1/mcp-server-instances/${otherId}/logs`],
      ["POST", "/v1/mcp-server-instances/other/stop"],
      ["DELETE", "/v1/mcp-server-instances/other"],
    ] as const) {
      const r = await rest(operator, method, path);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(await r.text()).toContain('policy \\"agents\\"');
    }
    expect((await host.fleet.instances.get("other")).desired_state).toBe("running");
    const listed = await rest(operator, "GET", "/v1/mcp-server-instances");
    expect(((await listed.json()) as Array<{ name: string }>).map((i) => i.name)).toEqual(["repo-a"]);
    expect(listed.headers.get("x-total-count")).toBeNull();
    const made = await rest(operator, "POST", "/v1/mcp-server-instances", {
      name: "sneaky-rest",
      json_spec: { type: "url", endpoint: upstream.url },
    });
    expect(made.status).toBe(403);
    expect(await host.fleet.instances.list()).not.toContainEqual(expect.objectContaining({ name: "sneaky-rest" }));
    expect((await rest(operator, "GET", "/v1/mcp-server-instances/repo-a")).status).toBe(200);
  });

  it("an instance's tool filter holds for a key without policy, and only an admin may drop it", async () => {
    const { KEYS } = await import("../helpers.js");
    const spec = { type: "url", endpoint: upstream.url, tools: { deny: ["delete_*"] } };
    const r = await host.call("POST", "/v1/mcp-server-instances", { body: { name: "filtered", json_spec: spec } });
    expect(r.status).toBe(201);
    await host.fleet.instances.waitFor("filtered", "running", { timeoutMs: 20_000 });
    const list = await post(KEYS.operator, "/mcp/filtered", { jsonrpc: "2.0", id: 1, method: "tools/list" });
    const names = (await answer<{ result: { tools: Array<{ name: string }> } }>(list)).result.tools.map((t) => t.name);
    expect(names).toEqual(["list_repos", "create_issue"]);
    const before = upstream.calls.length;
    const denied = await answer<{ error?: { code: number } }>(
      await post(KEYS.operator, "/mcp/filtered", call(2, "delete_repo")),
    );
    expect(denied.error?.code).toBe(-32003);
    expect(upstream.calls.length).toBe(before);
    const dropped = await rest(KEYS.operator, "PUT", "/v1/mcp-server-instances/filtered", {
      name: "filtered",
      json_spec: { type: "url", endpoint: upstream.url },
    });
    expect(dropped.status).toBe(403);
    expect((await host.fleet.instances.get("filtered")).json_spec).toMatchObject({ tools: { deny: ["delete_*"] } });
    const patched = await rest(KEYS.operator, "PATCH", "/v1/mcp-server-instances/filtered", {
      json_spec: { ...spec, tools: { deny: [] } },
    });
    expect(patched.status).toBe(403);
  });
});
