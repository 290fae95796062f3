import nodeVault from "node-vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeVault } from "./fake-vault.js";

// The fake refuses what Vault refuses; checked with raw HTTP and with node-vault's own helpers.
describe("the fake Vault", () => {
  const fake = new FakeVault({ approle: { roleId: "r", secretId: "s", ttl: 60, renewable: true } });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${fake.address}${path}`, {
      method,
      headers: {
        ...(token ? { "X-Vault-Token": token } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it("answers 403 permission denied without a token, with an unknown token, and with an expired one", async () => {
    expect(await call("GET", "/v1/secret/data/x")).toEqual({ status: 403, body: { errors: ["permission denied"] } });
    expect((await call("GET", "/v1/secret/data/x", "hvs.unknown")).status).toBe(403);
    const short = fake.issueToken(1, false);
    fake.clockOffset += 2_000;
    expect((await call("GET", "/v1/secret/data/x", short)).status).toBe(403);
    fake.clockOffset = 0;
  });

  it("answers 405 for an unsupported verb, 404 for unknown routes and missing secrets", async () => {
    expect((await call("PATCH", "/v1/secret/metadata/x", "root-token")).status).toBe(405);
    expect((await call("GET", "/v1/nomount/data/x", "root-token")).body.errors[0]).toMatch(/no handler for route/);
    expect(await call("GET", "/v1/secret/data/missing", "root-token")).toEqual({ status: 404, body: { errors: [] } });
  });

  it("enforces check-and-set and reports versions like KV v2", async () => {
    const first = await call("POST", "/v1/secret/data/cas", "root-token", { options: { cas: 0 }, data: { a: "1" } });
    expect(first.body.data.version).toBe(1);
    const stale = await call("POST", "/v1/secret/data/cas", "root-token", { options: { cas: 0 }, data: { a: "2" } });
    expect(stale).toEqual({
      status: 400,
      body: { errors: ["check-and-set parameter did not match the current version"] },
    });
    const read = await call("GET", "/v1/secret/data/cas", "root-token");
    expect(read.body.data).toMatchObject({ data: { a: "1" }, metadata: { version: 1, destroyed: false } });
  });

  it("is sealed on demand: 503 for everything, sys/health says sealed", async () => {
    fake.sealed = true;
    expect(await call("GET", "/v1/secret/data/x", "root-token")).toEqual({
      status: 503,
      body: { errors: ["Vault is sealed"] },
    });
    expect((await call("GET", "/v1/sys/health")).body).toMatchObject({ sealed: true });
    fake.sealed = false;
  });

  it("serves node-vault's own helpers (write, read, approleLogin)", async () => {
    const client = nodeVault({ endpoint: fake.address, token: "root-token" });
    await client.write("secret/data/nv", { data: { k: "v" } });
    expect((await client.read("secret/data/nv")).data.data).toEqual({ k: "v" });
    const login = await client.approleLogin({ role_id: "r", secret_id: "s" });
    expect(login.auth.client_token).toMatch(/^hvs\./);
    await expect(client.approleLogin({ role_id: "r", secret_id: "bad" })).rejects.toThrow(/invalid role or secret ID/);
  });
});
