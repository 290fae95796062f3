import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { generateKeyPair, importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "../helpers.js";
import { policyToolServer } from "./policy-tools.js";
import { CLIENT, startProvider } from "./provider.js";

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
let json: Awaited<ReturnType<typeof policyToolServer>>;
let sse: Awaited<ReturnType<typeof policyToolServer>>;

beforeAll(async () => {
  op = await startProvider({ scope: "mcpfleet:operator mcpfleet:viewer", claims: { groups: ["agents"] } });
  [json, sse] = await Promise.all([policyToolServer(true), policyToolServer(false)]);
  const port = await freePort();
  audience = `http://127.0.0.1:${port}/`;
  const dir = join(process.env.TMPDIR ?? "/tmp", `mcpfleet-oidc-${process.pid}-${Date.now()}.json`);
  writeFileSync(
    dir,
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
    OIDC_POLICIES_FILE: dir,
    OIDC_JWKS_COOLDOWN_MS: "0",
    ALLOW_UNSAFE_ENDPOINTS: "true",
  });
  for (const [name, endpoint, extra] of [
    ["repo-json", json.url, {}],
    ["repo-sse", sse.url, {}],
    ["other", json.url, { tools: { allow: ["list_*"] } }],
  ] as const) {
    const r = await host.call("POST", "/v1/mcp-server-instances", {
      body: { name, json_spec: { type: "url", endpoint, ...extra } },
    });
    expect(r.status).toBe(201);
    await host.fleet.instances.waitFor(name, "running", { timeoutMs: 20_000 });
  }
}, 60_000);

afterAll(async () => {
  await host?.close();
  await op?.close();
  await json?.close();
  await sse?.close();
});

async function sdkClient(path: string, scope = "mcpfleet:operator") {
  const client = new Client({ name: "agent", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(`${host.url}${path}`), {
    authProvider: new ClientCredentialsProvider({
      clientId: CLIENT.id,
      clientSecret: CLIENT.secret,
      scope,
      expectedIssuer: op.issuer,
    }),
  });
  await client.connect(transport);
  return client;
}

const rpc = (token: string, path: string, body: unknown) =>
  fetch(`${host.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify(body),
  });

describe("MCP authorization spec", () => {
  it("serves RFC 9728 metadata at the well-known path and its path-suffixed forms", async () => {
    for (const p of ["", "/mcp", "/mcp/repo-json", "/control/mcp"]) {
      const r = await host.call("GET", `/.well-known/oauth-protected-resource${p}`, { role: "none" });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ resource: audience, authorization_servers: [op.issuer] });
      expect(r.body.scopes_supported).toContain("mcpfleet:operator");
    }
  });

  it("answers 401 with a Bearer challenge naming the resource metadata on every MCP route", async () => {
    for (const p of ["/mcp", "/mcp/repo-json", "/control/mcp"]) {
      const r = await host.call("POST", p, { role: "none", body: {} });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe(
        `Bearer resource_metadata="${host.url}/.well-known/oauth-protected-resource${p}"`,
      );
    }
  });

  it("the MCP SDK client follows the 401, gets a token by client credentials, lists and calls tools (JSON and SSE)", async () => {
    for (const inst of ["repo-json", "repo-sse"]) {
      const client = await sdkClient(`/mcp/${inst}`);
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(["list_repos", "create_issue"]);
      const ok = await client.callTool({ name: "list_repos", arguments: {} });
      expect((ok.content as Array<{ text: string }>)[0]!.text).toBe("called list_repos");
      await expect(client.callTool({ name: "delete_repo", arguments: {} })).rejects.toThrow(
        /refused by policy "agents": tool denied by the policy/,
      );
      await client.close();
    }
  });

  it("limits the token's policy to its instances and filters the aggregated endpoint", async () => {
    const token = await op.token(audience, "mcpfleet:operator");
    const other = await rpc(token, "/mcp/other", { jsonrpc: "2.0", id: 1, method: "tools/list" });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { message: string } }).error.message).toContain('policy "agents"');
    const client = await sdkClient("/mcp");
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual([
      "repo-json__create_issue",
      "repo-json__list_repos",
      "repo-sse__create_issue",
      "repo-sse__list_repos",
    ]);
    await expect(client.callTool({ name: "repo-json__delete_repo", arguments: {} })).rejects.toThrow(/policy "agents"/);
    await expect(client.callTool({ name: "other__list_repos", arguments: {} })).rejects.toThrow(/instance name/);
    await client.close();
  });

  it("answers 403 insufficient_scope naming the scope when the token's role is too weak", async () => {
    const token = await op.token(audience, "mcpfleet:viewer");
    const r = await rpc(token, "/mcp/repo-json", { jsonrpc: "2.0", id: 1, method: "tools/list" });
    expect(r.status).toBe(403);
    expect(r.headers.get("www-authenticate")).toContain('error="insufficient_scope", scope="mcpfleet:operator"');
    const viewer = await rpc(token, "/control/mcp", { jsonrpc: "2.0", id: 1, method: "ping" });
    expect(viewer.status).not.toBe(403);
  });

  it("audits every decision with principal, instance, method, tool, reason and policy, never the token", async () => {
    // audit lines are written as responses close: poll until the denied call's line is there
    let text = "";
    for (let i = 0; i < 100 && !text.includes('"decision":"denied"'); i++) {
      text = readFileSync(host.auditPath, "utf8");
      if (!text.includes('"decision":"denied"')) await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toContainEqual(
      expect.objectContaining({
        actor: "oidc:agent",
        instance: "repo-json",
        rpc_method: "tools/call",
        tool: "delete_repo",
        decision: "denied",
        reason: "tool denied by the policy",
        policy: "agents",
      }),
    );
    const allowed = lines.find((l) => l.tool === "list_repos" && l.decision === "allowed");
    expect(allowed).toMatchObject({ policy: "agents", result: "ok" });
    expect(typeof allowed.duration_ms).toBe("number");
  });
});

describe("token validation", () => {
  const tools = { jsonrpc: "2.0", id: 1, method: "tools/list" };
  const refused = async (token: string, why: RegExp) => {
    const r = await rpc(token, "/mcp/repo-json", tools);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(((await r.json()) as { detail: string }).detail).toMatch(why);
  };

  it("refuses a token for another audience", async () => {
    await refused(await op.token("https://other.example/"), /audience/);
  });

  it("refuses an expired token signed by the provider's own key", async () => {
    const jwk = op.signingKey();
    const key = await importJWK(jwk, "RS256");
    const t = await new SignJWT({ scope: "mcpfleet:operator" })
      .setProtectedHeader({ alg: "RS256", kid: jwk.kid! })
      .setIssuer(op.issuer)
      .setAudience(audience)
      .setSubject("agent")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
      .sign(key);
    await refused(t, /expired/);
  });

  it("refuses a token signed by an unknown key", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const t = await new SignJWT({ scope: "mcpfleet:operator" })
      .setProtectedHeader({ alg: "RS256", kid: "attacker" })
      .setIssuer(op.issuer)
      .setAudience(audience)
      .setExpirationTime("5m")
      .sign(privateKey);
    await refused(t, /unknown key/);
  });

  it("refuses alg none", async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const exp = Math.floor(Date.now() / 1000) + 300;
    const t = `${b64({ alg: "none", typ: "JWT" })}.${b64({ iss: op.issuer, aud: audience, exp, scope: "mcpfleet:admin" })}.`;
    await refused(t, /algorithm|malformed/);
  });

  it("picks up rotated signing keys (a kid miss refetches the JWKS)", async () => {
    const before = await op.token(audience);
    await op.rotate();
    const after = await op.token(audience);
    expect(after.split(".")[0]).not.toBe(before.split(".")[0]);
    for (const t of [before, after]) expect((await rpc(t, "/mcp/repo-json", tools)).status).toBe(200);
  });
});
