import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startTestHost, type TestHost } from "./helpers.js";

const doc = (name: string) =>
  JSON.parse(readFileSync(join(REPO_ROOT, "packages/core/test/fixtures/formats", name), "utf8"));
const LITERALS = ["ghp_exampleLiteralToken1234567890", "figd_literal_example_token"];
const PROVIDED = "brave-provided-7731";

let host: TestHost;
beforeAll(async () => {
  host = await startTestHost({ FLEET_STORE: "file", FLEET_SECRETS: "file", SECRETS_KEY: "a-long-test-passphrase" });
});
afterAll(async () => {
  await host?.close();
});

describe("imported credentials never reach data files (file store, encrypted secrets, audit log)", () => {
  it("literal tokens and provided secrets are only in the encrypted secret file", async () => {
    const a = await host.call("POST", "/v1/import", {
      role: "admin",
      body: { ...doc("claude-desktop.json"), secrets: { BRAVE_API_KEY: PROVIDED } },
    });
    expect(a.status).toBe(201);
    const b = await host.call("POST", "/v1/import", { role: "admin", body: doc("windsurf.json") });
    expect(b.status).toBe(201);
    const listed = await host.call("GET", "/v1/mcp-server-instances", { role: "viewer" });
    for (const i of a.body.instances) await host.fleet.instances.waitFor(i.id, "running", { timeoutMs: 10_000 });
    const files = readdirSync(host.dir).map((f) => join(host.dir, f));
    expect(files.some((f) => f.endsWith("store.json"))).toBe(true);
    expect(files.some((f) => f.endsWith("secrets.enc"))).toBe(true);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      for (const secret of [...LITERALS, PROVIDED]) expect(text, `${f} holds a secret`).not.toContain(secret);
    }
    for (const secret of [...LITERALS, PROVIDED]) {
      expect(a.text).not.toContain(secret);
      expect(b.text).not.toContain(secret);
      expect(listed.text).not.toContain(secret);
    }
  });
});
