import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vaultSecrets } from "../src/index.js";
import { FakeVault } from "./fake-vault.js";

function selfSigned(): { key: string; cert: string } | undefined {
  try {
    const dir = mkdtempSync(join(tmpdir(), "vault-tls-"));
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } catch {
    return undefined;
  }
}

const pem = selfSigned();

describe.skipIf(!pem)(
  `vaultSecrets over TLS${pem ? "" : " [skipped: openssl not available to make a test certificate]"}`,
  () => {
    const fake = new FakeVault({ tls: pem });
    beforeAll(() => fake.start());
    afterAll(() => fake.stop());
    const auth = { method: "token" as const, token: "root-token" };

    it("refuses an untrusted certificate, even with VAULT_SKIP_VERIFY set in the environment", async () => {
      const saved = process.env.VAULT_SKIP_VERIFY;
      process.env.VAULT_SKIP_VERIFY = "1";
      try {
        const store = vaultSecrets({ address: fake.address, auth, backoffMs: 1 });
        await expect(store.get({ scope: "s", key: "A" })).rejects.toMatchObject({
          code: "SECRET_STORE_UNAVAILABLE",
          isRetryable: false,
          message: expect.stringContaining("TLS verification failed"),
        });
        await store.close();
      } finally {
        if (saved === undefined) delete process.env.VAULT_SKIP_VERIFY;
        else process.env.VAULT_SKIP_VERIFY = saved;
      }
    });

    it("trusts the configured CA", async () => {
      const store = vaultSecrets({ address: fake.address, auth, tls: { ca: pem!.cert } });
      await store.set({ scope: "s", key: "A" }, "1");
      expect(await store.get({ scope: "s", key: "A" })).toBe("1");
      await store.close();
    });

    it("skips verification only when insecureSkipVerify is exactly true", async () => {
      const store = vaultSecrets({ address: fake.address, auth, tls: { insecureSkipVerify: true } });
      expect(await store.list?.("s")).toEqual(["A"]);
      await store.close();
    });
  },
);
