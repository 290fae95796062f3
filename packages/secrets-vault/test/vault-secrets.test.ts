import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FleetError, recordingLogger, type SecretStore } from "@mcpfleet/core";
import { secretStoreBehaviour } from "@mcpfleet/core/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { vaultSecrets } from "../src/index.js";
import { FakeVault } from "./fake-vault.js";

const ROOT = "root-token";

describe("vaultSecrets against the fake Vault: store behaviour", () => {
  const fake = new FakeVault();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  secretStoreBehaviour(() =>
    vaultSecrets({ address: fake.address, auth: { method: "token", token: ROOT }, backoffMs: 1 }),
  );
});

describe("vaultSecrets against the fake Vault: protocol", () => {
  let fake: FakeVault;
  const stores: SecretStore[] = [];
  const open = (o: Partial<Parameters<typeof vaultSecrets>[0]> = {}): SecretStore => {
    const s = vaultSecrets({ address: fake.address, auth: { method: "token", token: ROOT }, backoffMs: 1, ...o });
    stores.push(s);
    return s;
  };
  beforeEach(async () => {
    fake = await new FakeVault({
      approle: { roleId: "role-1", secretId: "secret-1", ttl: 30, renewable: true },
      kubernetes: { role: "mcpfleet", jwt: "sa-jwt", ttl: 30, renewable: false },
    }).start();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await fake.stop();
  });

  it("stores one KV v2 secret per scope under mount/prefix, keys as fields, written with cas", async () => {
    const store = open({ mount: "secret", prefix: "fleet/prod" });
    await store.set({ scope: "instance_1", key: "API_KEY" }, "k1");
    await store.set({ scope: "instance_1", key: "TOKEN" }, "t1");
    expect(fake.read("fleet/prod/instance_1")).toEqual({ API_KEY: "k1", TOKEN: "t1" });
    const writes = fake.requests.filter((r) => r.method === "POST");
    expect(writes.map((w) => w.path)).toEqual([
      "/v1/secret/data/fleet/prod/instance_1",
      "/v1/secret/data/fleet/prod/instance_1",
    ]);
    expect(writes.map((w) => (w.body as { options: { cas: number } }).options.cas)).toEqual([0, 1]);
    expect(writes.every((w) => w.headers["x-vault-token"] === ROOT)).toBe(true);
    await store.deleteScope?.("instance_1");
    expect(fake.kv.has("fleet/prod/instance_1")).toBe(false);
    expect(fake.requests.at(-1)).toMatchObject({ method: "DELETE", path: "/v1/secret/metadata/fleet/prod/instance_1" });
  });

  it("retries a check-and-set conflict instead of overwriting a concurrent write", async () => {
    const store = open();
    await store.set({ scope: "s", key: "A" }, "1");
    // Another client writes between our read and our write: version 1 -> 2.
    let raced = false;
    fake.beforeWrite = (path) => {
      if (raced) return;
      raced = true;
      fake.put(path, { ...fake.read(path), C: "3" });
    };
    const before = fake.requests.length;
    await store.set({ scope: "s", key: "B" }, "2");
    expect(fake.read("mcpfleet/s")).toEqual({ A: "1", B: "2", C: "3" });
    const posts = fake.requests.slice(before).filter((r) => r.method === "POST");
    expect(posts.map((p) => (p.body as { options: { cas: number } }).options.cas)).toEqual([1, 2]);
  });

  it("gives up with CONFLICT when the scope never settles", async () => {
    const store = open({ casRetries: 3 });
    await store.set({ scope: "s", key: "A" }, "1");
    fake.beforeWrite = (path) => fake.put(path, { ...fake.read(path) });
    await expect(store.set({ scope: "s", key: "B" }, "2")).rejects.toMatchObject({
      code: "CONFLICT",
      isRetryable: true,
    });
  });

  it("maps a missing or wrong token to SECRET_ACCESS_DENIED (Vault answers 403 permission denied)", async () => {
    const store = open({ auth: { method: "token", token: "hvs.wrong" } });
    const err = await store.get({ scope: "s", key: "A" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SECRET_ACCESS_DENIED", isRetryable: false });
    expect((err as Error).message).toContain("permission denied");
    expect((err as Error).message).not.toContain("hvs.wrong");
  });

  it("maps a policy denial on one path to SECRET_ACCESS_DENIED", async () => {
    await fake.stop();
    fake = await new FakeVault({ denyPrefixes: ["mcpfleet/forbidden"] }).start();
    const store = open();
    await expect(store.set({ scope: "forbidden", key: "A" }, "x")).rejects.toMatchObject({
      code: "SECRET_ACCESS_DENIED",
    });
    await store.set({ scope: "allowed", key: "A" }, "x");
  });

  it("reports a missing KV mount as a configuration problem, not as a missing secret", async () => {
    const store = open({ mount: "kv-missing" });
    await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({
      code: "SECRET_STORE_UNAVAILABLE",
      isRetryable: false,
      message: expect.stringContaining("no secrets engine"),
    });
    await expect(store.set({ scope: "s", key: "A" }, "1")).rejects.toMatchObject({ code: "SECRET_STORE_UNAVAILABLE" });
  });

  it("reports a sealed Vault clearly, without hammering it", async () => {
    const store = open({ maxAttempts: 5 });
    await store.set({ scope: "s", key: "A" }, "1");
    fake.sealed = true;
    const before = fake.requests.length;
    const err = await store.get({ scope: "s", key: "A" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SECRET_STORE_UNAVAILABLE", isRetryable: true });
    expect((err as Error).message).toMatch(/^vault is sealed/);
    expect(fake.requests.length - before).toBe(1);
    fake.sealed = false;
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
  });

  it("retries 5xx with backoff and gives up after maxAttempts", async () => {
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

  it("maps network errors to retryable SECRET_STORE_UNAVAILABLE", async () => {
    const address = fake.address;
    await fake.stop();
    const store = vaultSecrets({ address, auth: { method: "token", token: ROOT }, maxAttempts: 2, backoffMs: 1 });
    stores.push(store);
    await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({
      code: "SECRET_STORE_UNAVAILABLE",
      isRetryable: true,
      message: expect.stringContaining("ECONNREFUSED"),
    });
    fake = await new FakeVault().start(); // for afterEach
  });

  it("honours an AbortSignal", async () => {
    const store = open();
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(store.get({ scope: "s", key: "A" }, { signal: ctrl.signal })).rejects.toMatchObject({
      code: "ABORTED",
    });
    fake.failNext = 100;
    const ctrl2 = new AbortController();
    const slow = open({ backoffMs: 60_000, maxAttempts: 5 });
    const p = slow.get({ scope: "s", key: "A" }, { signal: ctrl2.signal });
    setTimeout(() => ctrl2.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("logs in with AppRole and uses the issued token", async () => {
    const store = open({ auth: { method: "approle", roleId: "role-1", secretId: "secret-1" } });
    await store.set({ scope: "s", key: "A" }, "1");
    const login = fake.requests[0];
    expect(login).toMatchObject({
      method: "POST",
      path: "/v1/auth/approle/login",
      body: { role_id: "role-1", secret_id: "secret-1" },
    });
    expect(login?.headers["x-vault-token"]).toBeUndefined();
    const issued = [...fake.tokens.keys()].find((t) => t !== ROOT);
    expect(fake.requests.slice(1).every((r) => r.headers["x-vault-token"] === issued)).toBe(true);
  });

  it("refuses a wrong AppRole secret id with SECRET_ACCESS_DENIED and never echoes it", async () => {
    const store = open({ auth: { method: "approle", roleId: "role-1", secretId: "bad-secret-id" } });
    const err = await store.get({ scope: "s", key: "A" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SECRET_ACCESS_DENIED" });
    expect(JSON.stringify({ m: (err as Error).message, d: (err as FleetError).details })).not.toContain(
      "bad-secret-id",
    );
  });

  it("logs in with a Kubernetes service-account token read from a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vault-k8s-"));
    const jwtPath = join(dir, "token");
    await writeFile(jwtPath, "sa-jwt\n");
    const store = open({ auth: { method: "kubernetes", role: "mcpfleet", jwtPath } });
    await store.set({ scope: "s", key: "A" }, "1");
    expect(fake.requests[0]).toMatchObject({
      path: "/v1/auth/kubernetes/login",
      body: { role: "mcpfleet", jwt: "sa-jwt" },
    });
    await writeFile(jwtPath, "other-jwt");
    const denied = open({ auth: { method: "kubernetes", role: "mcpfleet", jwtPath } });
    await expect(denied.get({ scope: "s", key: "A" })).rejects.toMatchObject({ code: "SECRET_ACCESS_DENIED" });
  });

  it("renews a renewable token at 2/3 of its TTL with renew-self", async () => {
    const store = open({ auth: { method: "approle", roleId: "role-1", secretId: "secret-1" }, now: () => fake.now() });
    await store.set({ scope: "s", key: "A" }, "1");
    const count = (p: string) => fake.requests.filter((r) => r.path === p).length;
    fake.clockOffset += 15_000; // half the 30 s TTL: no renewal yet
    await store.get({ scope: "s", key: "A" });
    expect(count("/v1/auth/token/renew-self")).toBe(0);
    fake.clockOffset += 6_000; // 21 s > 20 s
    await store.get({ scope: "s", key: "A" });
    expect(count("/v1/auth/token/renew-self")).toBe(1);
    expect(count("/v1/auth/approle/login")).toBe(1);
    fake.clockOffset += 3_000_000; // renewed to the fake's renewTtl (3600 s); well past it now
    await store.get({ scope: "s", key: "A" });
    expect(count("/v1/auth/token/renew-self")).toBe(2);
  });

  it("logs in again when renewal only grants a sliver (token near its max TTL)", async () => {
    await fake.stop();
    fake = await new FakeVault({
      approle: { roleId: "role-1", secretId: "secret-1", ttl: 30, renewable: true },
      renewTtl: 4,
    }).start();
    const store = open({ auth: { method: "approle", roleId: "role-1", secretId: "secret-1" }, now: () => fake.now() });
    await store.set({ scope: "s", key: "A" }, "1");
    fake.clockOffset += 21_000;
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
    expect(fake.requests.filter((r) => r.path === "/v1/auth/token/renew-self")).toHaveLength(1);
    expect(fake.requests.filter((r) => r.path === "/v1/auth/approle/login")).toHaveLength(2);
  });

  it("logs in again when the token is not renewable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vault-k8s-"));
    const jwtPath = join(dir, "token");
    await writeFile(jwtPath, "sa-jwt");
    const store = open({ auth: { method: "kubernetes", role: "mcpfleet", jwtPath }, now: () => fake.now() });
    await store.set({ scope: "s", key: "A" }, "1");
    fake.clockOffset += 25_000;
    await store.get({ scope: "s", key: "A" });
    expect(fake.requests.filter((r) => r.path === "/v1/auth/kubernetes/login")).toHaveLength(2);
    expect(fake.requests.filter((r) => r.path === "/v1/auth/token/renew-self")).toHaveLength(0);
  });

  it("looks up a static token's TTL and renews it before expiry", async () => {
    const token = fake.issueToken(9, true);
    const store = open({ auth: { method: "token", token }, now: () => fake.now() });
    await store.set({ scope: "s", key: "A" }, "1");
    expect(fake.requests[0]).toMatchObject({ method: "GET", path: "/v1/auth/token/lookup-self" });
    fake.clockOffset += 7_000;
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
    expect(fake.requests.filter((r) => r.path === "/v1/auth/token/renew-self")).toHaveLength(1);
    fake.clockOffset += 7_000; // past the original 9 s, alive thanks to the renewal
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
  });

  it("replaces a revoked AppRole token with a fresh login", async () => {
    const store = open({ auth: { method: "approle", roleId: "role-1", secretId: "secret-1" } });
    await store.set({ scope: "s", key: "A" }, "1");
    for (const t of [...fake.tokens.keys()]) if (t !== ROOT) fake.tokens.delete(t);
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
    expect(fake.requests.filter((r) => r.path === "/v1/auth/approle/login")).toHaveLength(2);
  });

  it("sends X-Vault-Namespace on every request (Vault Enterprise)", async () => {
    await fake.stop();
    fake = await new FakeVault({
      namespace: "team-a",
      approle: { roleId: "role-1", secretId: "secret-1", ttl: 60, renewable: true },
    }).start();
    const without = open();
    await expect(without.get({ scope: "s", key: "A" })).rejects.toMatchObject({ code: "SECRET_ACCESS_DENIED" });
    fake.requests.length = 0;
    const store = open({ namespace: "team-a", auth: { method: "approle", roleId: "role-1", secretId: "secret-1" } });
    await store.set({ scope: "s", key: "A" }, "1");
    expect(await store.get({ scope: "s", key: "A" })).toBe("1");
    expect(fake.requests.length).toBeGreaterThan(2);
    expect(fake.requests.every((r) => r.headers["x-vault-namespace"] === "team-a")).toBe(true);
  });

  it("caches reads for the TTL, shares in-flight reads, and invalidates on writes", async () => {
    let clock = 1_000_000;
    const store = open({ cacheTtlMs: 5_000, now: () => clock });
    await store.set({ scope: "s", key: "A" }, "1");
    const reads = () =>
      fake.requests.filter((r) => r.method === "GET" && r.path === "/v1/secret/data/mcpfleet/s").length;
    const base = reads();
    const values = await Promise.all([1, 2, 3].map(() => store.get({ scope: "s", key: "A" })));
    expect(values).toEqual(["1", "1", "1"]);
    expect(reads() - base).toBe(1);
    expect(await store.list?.("s")).toEqual(["A"]);
    expect(reads() - base).toBe(1);
    await store.set({ scope: "s", key: "A" }, "2");
    const afterSet = reads();
    expect(await store.get({ scope: "s", key: "A" })).toBe("2");
    expect(reads() - afterSet).toBe(1);
    clock += 5_001;
    await store.get({ scope: "s", key: "A" });
    expect(reads() - afterSet).toBe(2);
    await store.delete({ scope: "s", key: "A" });
    await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({ code: "SECRET_NOT_FOUND" });
  });

  it("never puts a secret value into logs, errors or thrown messages", async () => {
    const canary = "CANARY-7f3e9b-vault";
    const log = recordingLogger();
    const store = open({ logger: log, maxAttempts: 2 });
    await store.set({ scope: "s", key: "A" }, canary);
    expect(await store.get({ scope: "s", key: "A" })).toBe(canary);
    const errors: unknown[] = [];
    fake.failNext = 5;
    errors.push(await store.set({ scope: "s", key: "B" }, canary).catch((e: unknown) => e));
    fake.sealed = true;
    errors.push(await store.set({ scope: "s", key: "B" }, canary).catch((e: unknown) => e));
    fake.sealed = false;
    const denied = open({ auth: { method: "token", token: "nope" }, logger: log });
    errors.push(await denied.set({ scope: "s", key: "B" }, canary).catch((e: unknown) => e));
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
    expect(dump).not.toContain(ROOT);
  });

  it("is closed after close()", async () => {
    const store = open();
    await store.close();
    await store.close();
    await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("vaultSecrets options", () => {
  it("names the adapter and the option, never echoing credentials", () => {
    const attempt = (o: unknown) => {
      try {
        vaultSecrets(o as Parameters<typeof vaultSecrets>[0]);
      } catch (e) {
        return e as FleetError;
      }
      throw new Error("expected a throw");
    };
    const bad = attempt({ address: "not a url", auth: { method: "token", token: "s3cr3t-tok" } });
    expect(bad.code).toBe("OPTIONS_INVALID");
    expect(bad.message).toContain('[mcpfleet/secrets-vault] option "address"');
    expect(bad.message).not.toContain("s3cr3t-tok");
    expect(attempt({ address: "http://x", auth: { method: "approle", roleId: "r" } }).message).toContain(
      '"auth.secretId"',
    );
    expect(attempt({ address: "http://x", auth: { method: "token", token: "t" }, mount: "../sys" }).path).toBe("mount");
    expect(
      attempt({ address: "http://x", auth: { method: "token", token: "t" }, tls: { insecureSkipVerify: "yes" } }).path,
    ).toBe("tls.insecureSkipVerify");
  });
});
