import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encryptedFileSecrets, envSecrets, envSecretVariable, FleetError, memorySecrets } from "@mcpfleet/core";
import { secretStoreConformance } from "@mcpfleet/core/testing";
import { afterAll, describe, expect, it } from "vitest";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "mcpfleet-secrets-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

secretStoreConformance("memory", () => memorySecrets());
secretStoreConformance("env (read-only)", () => envSecrets({ env: {} }), {
  seeded: (seed) => {
    const env: Record<string, string> = {};
    for (const s of seed) env[envSecretVariable(s.ref)] = s.value;
    return envSecrets({ env });
  },
});
secretStoreConformance("encrypted-file (raw key)", () =>
  encryptedFileSecrets({ path: join(tempDir(), "secrets.enc"), key: KEY }),
);
secretStoreConformance("encrypted-file (passphrase)", () =>
  encryptedFileSecrets({
    path: join(tempDir(), "nested", "secrets.enc"),
    passphrase: "correct horse battery",
    scryptCost: 10,
  }),
);

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    expect(FleetError.isInstance(err)).toBe(true);
    return (err as FleetError).code;
  }
  return "OK";
}

describe("memorySecrets", () => {
  it("takes initial secrets by scope or by ref and validates them", async () => {
    const s = memorySecrets({ instance_1: { A: "a" }, "secret_ref:other:B": "b" });
    expect(await s.get({ scope: "instance_1", key: "A" })).toBe("a");
    expect(await s.get({ scope: "other", key: "B" })).toBe("b");
    expect(s.size).toBe(2);
    expect(await code(() => memorySecrets({ "not a ref": "x" }))).toBe("OPTIONS_INVALID");
    expect(await code(() => memorySecrets({ "bad scope": { K: "x" } }))).toBe("OPTIONS_INVALID");
    expect(await code(() => memorySecrets({ s: 5 } as never))).toBe("OPTIONS_INVALID");
  });

  it("refuses use after close with CLOSED", async () => {
    const s = memorySecrets();
    await s.close();
    expect(await code(s.get({ scope: "a", key: "b" }))).toBe("CLOSED");
  });
});

describe("envSecrets", () => {
  it("maps refs to MCPFLEET_SECRET_<SCOPE>__<KEY> (upper-cased, non-alnum to _)", async () => {
    expect(envSecretVariable({ scope: "instance_123", key: "API_KEY" })).toBe("MCPFLEET_SECRET_INSTANCE_123__API_KEY");
    expect(envSecretVariable({ scope: "a.b-c", key: "x.y" }, "P_")).toBe("P_A_B_C__X_Y");
    const s = envSecrets({ env: { MCPFLEET_SECRET_INSTANCE_123__API_KEY: "k", APP_S__T: "t" } });
    expect(await s.get({ scope: "instance_123", key: "API_KEY" })).toBe("k");
    expect(await envSecrets({ env: { APP_S__T: "t" }, prefix: "APP_" }).get({ scope: "s", key: "t" })).toBe("t");
    const err = await envSecrets({ env: {} })
      .get({ scope: "s", key: "k" })
      .catch((e: FleetError) => e);
    expect((err as FleetError).message).toContain("secret_ref:s:k");
    expect((err as FleetError).message).toContain("MCPFLEET_SECRET_S__K");
    expect(envSecrets({ env: {} }).capabilities).toEqual({ write: false, list: false });
  });

  it("reads process.env live by default", async () => {
    const name = envSecretVariable({ scope: "live", key: "K" });
    const s = envSecrets();
    expect(await code(s.get({ scope: "live", key: "K" }))).toBe("SECRET_NOT_FOUND");
    process.env[name] = "now-set";
    try {
      expect(await s.get({ scope: "live", key: "K" })).toBe("now-set");
    } finally {
      delete process.env[name];
    }
  });

  it("validates options", async () => {
    expect(await code(() => envSecrets({ prefix: "lower" }))).toBe("OPTIONS_INVALID");
    expect(await code(() => envSecrets({ env: { A: 1 } as never }))).toBe("OPTIONS_INVALID");
  });
});

describe("encryptedFileSecrets", () => {
  const CANARY = "canary-plaintext-7f3a9";

  it("writes an encrypted 0600 file atomically that another store with the key reads", async () => {
    const dir = tempDir();
    const path = join(dir, "s.enc");
    const a = encryptedFileSecrets({ path, key: KEY });
    await a.set({ scope: "i1", key: "API_KEY" }, CANARY);
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).toString()).toBe("MCPFSEC1");
    expect(bytes.toString("latin1")).not.toContain(CANARY);
    expect(bytes.toString("latin1")).not.toContain("API_KEY");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["s.enc"]);
    const b = encryptedFileSecrets({ path, key: Buffer.from(KEY, "hex").toString("base64") });
    expect(await b.get({ scope: "i1", key: "API_KEY" })).toBe(CANARY);
    await b.set({ scope: "i1", key: "OTHER" }, "x");
    expect(await a.list?.("i1")).toEqual(["API_KEY", "OTHER"]);
    await a.close();
    await b.close();
  });

  it("a missing file is an empty store", async () => {
    const s = encryptedFileSecrets({ path: join(tempDir(), "none.enc"), key: KEY });
    expect(await s.list?.("x")).toEqual([]);
    expect(await code(s.get({ scope: "x", key: "y" }))).toBe("SECRET_NOT_FOUND");
  });

  it("a wrong key, a tampered file or a foreign file is SECRET_STORE_UNAVAILABLE, never an empty store", async () => {
    const path = join(tempDir(), "s.enc");
    const s = encryptedFileSecrets({ path, passphrase: "passphrase-one", scryptCost: 10 });
    await s.set({ scope: "a", key: "b" }, CANARY);
    const wrong = encryptedFileSecrets({ path, passphrase: "passphrase-two", scryptCost: 10 });
    const err = await wrong.get({ scope: "a", key: "b" }).catch((e: FleetError) => e);
    expect((err as FleetError).code).toBe("SECRET_STORE_UNAVAILABLE");
    expect((err as FleetError).message).toMatch(/wrong key|modified/);
    expect((err as FleetError).message).not.toContain(CANARY);
    expect(await code(wrong.set({ scope: "a", key: "c" }, "x"))).toBe("SECRET_STORE_UNAVAILABLE");
    expect(await code(encryptedFileSecrets({ path, key: KEY }).get({ scope: "a", key: "b" }))).toBe(
      "SECRET_STORE_UNAVAILABLE",
    );

    const bytes = readFileSync(path);
    for (const offset of [9, 20, 45, bytes.length - 1]) {
      const t = Buffer.from(bytes);
      t[offset] = (t[offset] as number) ^ 0x01;
      const tp = join(tempDir(), "t.enc");
      writeFileSync(tp, t);
      expect(
        await code(
          encryptedFileSecrets({ path: tp, passphrase: "passphrase-one", scryptCost: 10 }).get({
            scope: "a",
            key: "b",
          }),
        ),
      ).toBe("SECRET_STORE_UNAVAILABLE");
    }
    const foreign = join(tempDir(), "f.enc");
    writeFileSync(foreign, '{"a":{"b":"c"}}');
    expect(await code(encryptedFileSecrets({ path: foreign, key: KEY }).get({ scope: "a", key: "b" }))).toBe(
      "SECRET_STORE_UNAVAILABLE",
    );
    // The original file is intact.
    expect(await s.get({ scope: "a", key: "b" })).toBe(CANARY);
  });

  it("sees writes made by another handle (re-read on change)", async () => {
    const path = join(tempDir(), "s.enc");
    const a = encryptedFileSecrets({ path, key: KEY });
    const b = encryptedFileSecrets({ path, key: KEY });
    await a.set({ scope: "s", key: "k" }, "1");
    expect(await b.get({ scope: "s", key: "k" })).toBe("1");
    await b.set({ scope: "s", key: "k" }, "2-longer");
    expect(await a.get({ scope: "s", key: "k" })).toBe("2-longer");
  });

  it("loses no write when several handles and processes write one file at once (lock file)", async () => {
    const path = join(tempDir(), "shared.enc");
    const a = encryptedFileSecrets({ path, key: KEY });
    const b = encryptedFileSecrets({ path, key: KEY });
    const writer = fileURLToPath(new URL("./secrets-file-writer.ts", import.meta.url));
    const children = ["p1", "p2"].map(
      (prefix) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ["--conditions=@mcpfleet/source", "--import", "tsx", writer, path, prefix, "25", KEY],
            { cwd: fileURLToPath(new URL("../../../../", import.meta.url)), stdio: ["ignore", "pipe", "pipe"] },
          );
          let out = "";
          child.stdout.on("data", (d: Buffer) => (out += d.toString()));
          child.stderr.on("data", (d: Buffer) => (out += d.toString()));
          child.on("error", reject);
          child.on("exit", (c) => (c === 0 ? resolve(out) : reject(new Error(`writer ${prefix} exited ${c}: ${out}`))));
        }),
    );
    const local = [a, b].map(async (store, h) => {
      for (let i = 0; i < 25; i++) await store.set({ scope: "shared", key: `h${h}-${i}` }, `value-h${h}-${i}`);
    });
    await Promise.all([...children, ...local]);
    const reader = encryptedFileSecrets({ path, key: KEY });
    const keys = await reader.list!("shared");
    expect(keys).toHaveLength(100);
    for (const prefix of ["p1", "p2", "h0", "h1"])
      expect(await reader.get({ scope: "shared", key: `${prefix}-24` })).toBe(`value-${prefix}-24`);
    expect(readdirSync(dirname(path)).filter((f) => f.endsWith(".lock") || f.endsWith(".tmp"))).toEqual([]);
  }, 60_000);

  it("breaks the lock of a writer that died holding it", async () => {
    const path = join(tempDir(), "stale.enc");
    // a lock file left by a process that no longer exists on this host
    writeFileSync(`${path}.lock`, `999999999 ${hostname()} ${Date.now()}`);
    const s = encryptedFileSecrets({ path, key: KEY });
    await s.set({ scope: "s", key: "k" }, "v");
    expect(await s.get({ scope: "s", key: "k" })).toBe("v");
  });

  it("reads its key from a key file (raw or hex)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "raw.key"), Buffer.from(KEY, "hex"));
    writeFileSync(join(dir, "hex.key"), `${KEY}\n`);
    const path = join(dir, "s.enc");
    await encryptedFileSecrets({ path, keyFile: join(dir, "raw.key") }).set({ scope: "s", key: "k" }, "v");
    expect(await encryptedFileSecrets({ path, keyFile: join(dir, "hex.key") }).get({ scope: "s", key: "k" })).toBe("v");
  });

  it("validates options with OPTIONS_INVALID naming the option, without echoing secrets", async () => {
    const e = (o: unknown) => {
      try {
        encryptedFileSecrets(o as never);
      } catch (err) {
        return err as FleetError;
      }
      throw new Error("accepted");
    };
    expect(e({}).message).toContain('option "path"');
    expect(e({ path: "/tmp/x" }).message).toContain('option "key"');
    expect(e({ path: "/tmp/x", key: KEY, passphrase: "long enough pass" }).code).toBe("OPTIONS_INVALID");
    const short = e({ path: "/tmp/x", key: "deadbeef-not-a-key" });
    expect(short.message).toContain('option "key"');
    expect(short.message).not.toContain("deadbeef");
    expect(e({ path: "/tmp/x", passphrase: "short" }).message).toContain('option "passphrase"');
    expect(e({ path: "/tmp/x", keyFile: "/nonexistent/key" }).message).toContain('option "keyFile"');
    expect(e(null).code).toBe("OPTIONS_INVALID");
  });
});
