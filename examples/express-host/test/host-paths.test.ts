import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHost, type TestHost } from "./helpers.js";

/** Finding 10 of issue 14: ALLOWED_HOST_PATHS holds at create (REST 422) and at deploy, on real paths. */
describe("ALLOWED_HOST_PATHS through the real host", () => {
  let host: TestHost;
  const root = mkdtempSync(join(tmpdir(), "mcpfleet-paths-"));
  const allowed = join(root, "allowed");
  beforeAll(async () => {
    mkdirSync(join(allowed, "data"), { recursive: true });
    symlinkSync("/etc", join(allowed, "etc-link"));
    host = await startTestHost({ ALLOWED_HOST_PATHS: allowed });
  });
  afterAll(async () => {
    await host?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const docker = (source: string) => ({
    type: "docker",
    image: "mcp/echo:1",
    port: 8000,
    volumes: [{ source, target: "/data" }],
  });

  it.each([
    ["/etc", "/etc"],
    ["/", "/"],
    ["a symlink out of the allowed directory", "etc-link"],
    ["a path through that symlink", "etc-link/ssl"],
    ["a dot-dot escape", "data/../../outside"],
  ])("refuses %s at create with 422 HOST_PATH_REFUSED and its path", async (_what, source) => {
    const path = source.startsWith("/") ? source : `${allowed}/${source}`;
    const res = await host.call("POST", "/v1/mcp-server-instances", {
      body: { name: `v-${Math.random()}`.replace(".", ""), json_spec: docker(path) },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("HOST_PATH_REFUSED");
    expect(res.body.issues[0].path).toBe("json_spec.volumes.0.source");
    expect((await host.call("GET", "/v1/mcp-server-instances")).body).toEqual([]);
  });

  it("refuses a process cwd outside the allowed paths, and accepts paths inside (existing or not)", async () => {
    const cwd = await host.call("POST", "/v1/mcp-server-instances", {
      body: { name: "cwd-etc", json_spec: { type: "process", command: ["true"], cwd: join(allowed, "etc-link") } },
    });
    expect(cwd.status).toBe(422);
    expect(cwd.body.issues[0].path).toBe("json_spec.cwd");
    for (const [name, source] of [
      ["ok-dir", join(allowed, "data")],
      ["ok-new", join(allowed, "not-yet")],
    ]) {
      const res = await host.call("POST", "/v1/mcp-server-instances", { body: { name, json_spec: docker(source!) } });
      expect(res.status, res.text).toBe(201);
    }
  });

  it("checks again at deploy: a directory swapped for a symlink after create is refused", async () => {
    const swap = join(allowed, "swap");
    mkdirSync(swap);
    const created = await host.call("POST", "/v1/mcp-server-instances", {
      body: { name: "swapped", json_spec: docker(swap), start: false },
    });
    expect(created.status).toBe(201);
    rmSync(swap, { recursive: true });
    symlinkSync("/etc", swap);
    expect((await host.call("POST", `/v1/mcp-server-instances/${created.body.id}/start`)).status).toBe(202);
    const failed = await host.fleet.instances.waitFor(created.body.id, "failed", { timeoutMs: 10_000 });
    expect(failed.status_reason).toMatch(/HOST_PATH_REFUSED|really \/etc/);
  });
});
