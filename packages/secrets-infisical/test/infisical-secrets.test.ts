import { InfisicalSDK } from "@infisical/sdk";
import { FleetError, recordingLogger, type SecretStore } from "@mcpfleet/core";
import { secretStoreBehaviour } from "@mcpfleet/core/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { infisicalSecrets } from "../src/index.js";
import { FakeInfisical } from "./fake-infisical.js";

const AUTH = { clientId: "client-id-1", clientSecret: "client-secret-1" };
type Opts = Parameters<typeof infisicalSecrets>[0];

describe("infisicalSecrets against the fake Infisical: store behaviour", () => {
  const fake = new FakeInfisical();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  secretStoreBehaviour(() =>
    infisicalSecrets({ siteUrl: fake.url, auth: AUTH, projectId: "proj-1", environment: "dev", backoffMs: 1 }),
  );
});

describe("infisicalSecrets against the fake Infisical: protocol", () => {
  let fake: FakeInfisical;
  const stores: SecretStore[] = [];
  const open = (o: Partial<Opts> = {}): SecretStore => {
    const s = infisicalSecrets({
      siteUrl: fake.url,
      auth: AUTH,
      projectId: "proj-1",
      environment: "dev",
      backoffMs: 1,
      ...o,
    });
    stores.push(s);
    return s;
  };
  const paths = (method: string) => fake.requests.filter((r) => r.method === method).map((r) => r.path);
  beforeEach(async () => {
    fake = await new FakeInfisical({ tokenTtl: 60 }).start();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await fake.stop();
  });

  it("logs in, creates the scope folder on first write, and writes shared secrets under /mcpfleet/<scope>", async () => {
    const store = open();
    await store.set({ scope: "inst_1", key: "API_KEY" }, "k1");
    expect(fake.requests[0]).toMatchObject({
      method: "POST",
      path: "/api/v1/auth/universal-auth/login",
      body: AUTH,
    });
    const token = fake.requests[1]?.headers.authorization;
    expect(token).toMatch(/^Bearer ey\./);
    expect(fake.requests.filter((r) => r.path === "/api/v1/folders").map((r) => r.body)).toEqual([
      expect.objectContaining({ name: "mcpfleet", path: "/", workspaceId: "proj-1", environment: "dev" }),
      expect.objectContaining({ name: "inst_1", path: "/mcpfleet", workspaceId: "proj-1", environment: "dev" }),
    ]);
    const creates = fake.requests.filter((r) => r.method === "POST" && r.path === "/api/v3/secrets/raw/API_KEY");
    expect(creates.at(-1)?.body).toEqual({
      workspaceId: "proj-1",
      environment: "dev",
      secretValue: "k1",
      secretPath: "/mcpfleet/inst_1",
      type: "shared",
    });
    expect(fake.secretsAt("dev", "/mcpfleet/inst_1")).toEqual({ API_KEY: "k1" });
    // Second key: folder exists, a single create.
    const before = fake.requests.length;
    await store.set({ scope: "inst_1", key: "TOKEN" }, "t1");
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/v3/secrets/raw/TOKEN"]);
  });

  it("updates an existing secret with PATCH after Infisical refuses the duplicate create", async () => {
    const store = open();
    await store.set({ scope: "s", key: "A" }, "1");
    const before = fake.requests.length;
    await store.set({ scope: "s", key: "A" }, "2");
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /api/v3/secrets/raw/A",
      "PATCH /api/v3/secrets/raw/A",
    ]);
    expect(await store.get({ scope: "s", key: "A" })).toBe("2");
  });

  it("reads verbatim: no secret-reference expansion, values requested", async () => {
    const store = open();
    await store.set({ scope: "s", key: "A" }, "\u0024{OTHER}");
    expect(await store.get({ scope: "s", key: "A" })).toBe("\u0024{OTHER}");
    const get = fake.requests.find((r) => r.method === "GET" && r.path === "/api/v3/secrets/raw/A");
    expect(get?.query).toMatchObject({
      workspaceId: "proj-1",
      environment: "dev",
      secretPath: "/mcpfleet/s",
      expandSecretReferences: "false",
      viewSecretValue: "true",
      type: "shared",
    });
  });

  it("deleteScope deletes the scope folder in one call", async () => {
    const store = open({ pathPrefix: "/apps/fleet" });
    await store.set({ scope: "s", key: "A" }, "1");
    await store.set({ scope: "s", key: "B" }, "2");
    expect(fake.secretsAt("dev", "/apps/fleet/s")).toEqual({ A: "1", B: "2" });
    await store.deleteScope?.("s");
    expect(fake.requests.at(-1)).toMatchObject({
      method: "DELETE",
      path: "/api/v1/folders/s",
      body: { workspaceId: "proj-1", environment: "dev", path: "/apps/fleet" },
    });
    expect(fake.secretsAt("dev", "/apps/fleet/s")).toBeUndefined();
    await store.deleteScope?.("s");
  });

  it("deleteScope falls back to deleting each secret when folder deletion is not permitted", async () => {
    await fake.stop();
    fake = await new FakeInfisical({ denyFolderDelete: true }).start();
    const store = open();
    await store.set({ scope: "s", key: "A" }, "1");
    await store.set({ scope: "s", key: "B" }, "2");
    await store.deleteScope?.("s");
    expect(fake.secretsAt("dev", "/mcpfleet/s")).toEqual({});
    expect(paths("DELETE").filter((p) => p.startsWith("/api/v3/"))).toEqual([
      "/api/v3/secrets/raw/A",
      "/api/v3/secrets/raw/B",
    ]);
  });

  it("refuses a scope that cannot be an Infisical folder name", async () => {
    const store = open();
    await expect(store.set({ scope: "a.b", key: "A" }, "1")).rejects.toMatchObject({
      code: "SPEC_INVALID",
      path: "scope",
    });
  });

  it("maps wrong client credentials to SECRET_ACCESS_DENIED without echoing them", async () => {
    const store = open({ auth: { clientId: "client-id-1", clientSecret: "wrong-secret-xyz" } });
    const err = await store.get({ scope: "s", key: "A" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SECRET_ACCESS_DENIED" });
    expect(JSON.stringify({ m: (err as Error).message, d: (err as FleetError).details })).not.toContain(
      "wrong-secret-xyz",
    );
  });

  it("maps 403 (denied path, foreign project) to SECRET_ACCESS_DENIED and 404 to SECRET_NOT_FOUND", async () => {
    await fake.stop();
    fake = await new FakeInfisical({ denyPaths: ["/mcpfleet/locked"] }).start();
    const store = open();
    await expect(store.get({ scope: "locked", key: "A" })).rejects.toMatchObject({ code: "SECRET_ACCESS_DENIED" });
    await expect(open({ projectId: "other" }).get({ scope: "s", key: "A" })).rejects.toMatchObject({
      code: "SECRET_ACCESS_DENIED",
    });
    await expect(store.get({ scope: "free", key: "A" })).rejects.toMatchObject({
      code: "SECRET_NOT_FOUND",
      message: "secret not found: secret_ref:free:A",
    });
  });

  it("refuses to return Infisical's placeholder when the identity cannot read values", async () => {
    await fake.stop();
    fake = await new FakeInfisical({ hideValues: true }).start();
    const store = open();
    await store.set({ scope: "s", key: "A" }, "1");
    await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({ code: "SECRET_ACCESS_DENIED" });
    await expect(open({ cacheTtlMs: 1000 }).get({ scope: "s", key: "A" })).rejects.toMatchObject({
      code: "SECRET_ACCESS_DENIED",
    });
  });

  it("logs in again before the access token expires", async () => {
    const store = open({ now: () => fake.now() });
    await store.set({ scope: "s", key: "A" }, "1");
    fake.clockOffset += 30_000;
    await store.get({ scope: "s", key: "A" });
    expect(paths("POST").filter((p) => p.includes("universal-auth"))).toHaveLength(1);
    fake.clockOffset += 20_000; // 50 s of a 60 s token: past 80 %
    await store.get({ scope: "s", key: "A" });
    expect(paths("POST").filter((p) => p.includes("universal-auth"))).toHaveLength(2);
    expect(fake.requests.some((r) => r.path.startsWith("/api/v3/") && r.headers.authorization === undefined)).toBe(
      false,
    );
  });

  it("logs in again once when Infisical answers 401 (revoked or expired token)", async () => {
    const store = open();
    await store.set({ scope: "s", key: "A" }, "1");
    fake.tokens.clear();
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
    expect(paths("POST").filter((p) => p.includes("universal-auth"))).toHaveLength(2);
  });

  it("retries 5xx and gives up after maxAttempts with a retryable error", async () => {
    const store = open({ maxAttempts: 3 });
    await store.set({ scope: "s", key: "A" }, "1");
    fake.failNext = 2;
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
    fake.failNext = 10;
    const before = fake.requests.length;
    await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({
      code: "SECRET_STORE_UNAVAILABLE",
      isRetryable: true,
    });
    expect(fake.requests.length - before).toBe(3);
  });

  it("maps an unreachable server to a retryable SECRET_STORE_UNAVAILABLE", async () => {
    const url = fake.url;
    await fake.stop();
    const store = infisicalSecrets({ siteUrl: url, auth: AUTH, projectId: "proj-1", environment: "dev" });
    stores.push(store);
    await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({
      code: "SECRET_STORE_UNAVAILABLE",
      isRetryable: true,
    });
    fake = await new FakeInfisical().start();
  });

  it("honours an AbortSignal", async () => {
    const store = open();
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(store.get({ scope: "s", key: "A" }, { signal: ctrl.signal })).rejects.toMatchObject({
      code: "ABORTED",
    });
    fake.failNext = 100;
    const slow = open({ backoffMs: 60_000, maxAttempts: 5 });
    const ctrl2 = new AbortController();
    const p = slow.get({ scope: "s", key: "A" }, { signal: ctrl2.signal });
    setTimeout(() => ctrl2.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("caches reads for the TTL, shares in-flight reads, and invalidates on writes", async () => {
    let clock = 1_000_000;
    const store = open({ cacheTtlMs: 5_000, now: () => clock });
    await store.set({ scope: "s", key: "A" }, "1");
    const reads = () => fake.requests.filter((r) => r.method === "GET" && r.path === "/api/v3/secrets/raw").length;
    const base = reads();
    expect(await Promise.all([1, 2, 3].map(() => store.get({ scope: "s", key: "A" })))).toEqual(["1", "1", "1"]);
    expect(reads() - base).toBe(1);
    await store.set({ scope: "s", key: "A" }, "2");
    expect(await store.get({ scope: "s", key: "A" })).toBe("2");
    expect(reads() - base).toBe(2);
    clock += 5_001;
    await store.get({ scope: "s", key: "A" });
    expect(reads() - base).toBe(3);
  });

  it("never puts a secret value into logs, errors or thrown messages", async () => {
    const canary = "CANARY-51c0de-infisical";
    const log = recordingLogger();
    const store = open({ logger: log, maxAttempts: 2 });
    await store.set({ scope: "s", key: "A" }, canary);
    expect(await store.get({ scope: "s", key: "A" })).toBe(canary);
    const errors: unknown[] = [];
    fake.failNext = 5;
    errors.push(await store.set({ scope: "s", key: "B" }, canary).catch((e: unknown) => e));
    fake.tokens.clear();
    errors.push(
      await open({ logger: log, projectId: "other" })
        .set({ scope: "s", key: "B" }, canary)
        .catch((e: unknown) => e),
    );
    expect(errors.every((e) => FleetError.isInstance(e))).toBe(true);
    const dump = JSON.stringify({
      lines: log.lines,
      errors: errors.map((e) => ({
        ...(e as FleetError).toJSON(),
        details: (e as FleetError).details,
        stack: (e as Error).stack,
      })),
    });
    expect(log.lines.length).toBeGreaterThan(0);
    expect(dump).not.toContain(canary);
    expect(dump).not.toContain(AUTH.clientSecret);
  });

  it("the fake accepts exactly what @infisical/sdk itself sends for login", async () => {
    const sdk = new InfisicalSDK({ siteUrl: fake.url });
    await sdk.auth().universalAuth.login(AUTH);
    const store = open();
    await store.list?.("s");
    const logins = fake.requests.filter((r) => r.path === "/api/v1/auth/universal-auth/login");
    expect(logins).toHaveLength(2);
    expect(logins[1]?.body).toEqual(logins[0]?.body);
    expect(logins[1]?.headers["content-type"]).toBe(logins[0]?.headers["content-type"]);
    await expect(sdk.auth().universalAuth.login({ ...AUTH, clientSecret: "nope" })).rejects.toThrow(/StatusCode=401/);
  });
});

describe("infisicalSecrets options", () => {
  it("names the adapter and the option, never echoing credentials", () => {
    const attempt = (o: unknown) => {
      try {
        infisicalSecrets(o as Opts);
      } catch (e) {
        return e as FleetError;
      }
      throw new Error("expected a throw");
    };
    const bad = attempt({ auth: { clientId: "i", clientSecret: "s3cr3t" }, projectId: "", environment: "dev" });
    expect(bad).toMatchObject({ code: "OPTIONS_INVALID", path: "projectId" });
    expect(bad.message).toContain('[mcpfleet/secrets-infisical] option "projectId"');
    expect(bad.message).not.toContain("s3cr3t");
    expect(attempt({ auth: { clientId: "i" }, projectId: "p", environment: "dev" }).path).toBe("auth.clientSecret");
    expect(
      attempt({ auth: { clientId: "i", clientSecret: "s" }, projectId: "p", environment: "dev", pathPrefix: "mcp" })
        .path,
    ).toBe("pathPrefix");
  });
});
