import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { KEYS, startTestHost, type TestHost } from "../../../examples/express-host/test/helpers.js";
import {
  CATALOG_ENTRY,
  everythingCatalog,
  podman,
  podmanHostEnv,
  readInContainer,
  removeOwned,
} from "../../../examples/express-host/test/podman.js";
import { ensureBuilt, runCli, startCli } from "./helpers.js";

/**
 * `mcpfleet create` from a template and from a catalog entry, and `logs -f`, run as the built binary against a
 * listening host on the Podman runtime (server-everything images built locally by scripts/podman-env.sh). Secret
 * values come on stdin and end up only in the containers' secret files.
 */

vi.setConfig({ testTimeout: 240_000, hookTimeout: 300_000 });

const WAIT = { timeout: 90_000, interval: 200 };
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const OWNER = `cli-create-${RUN}`;
const TEMPLATE_CANARY = `CANARY-cli-tpl-${Math.random().toString(36).slice(2)}`;
const CATALOG_CANARY = `CANARY-cli-cat-${Math.random().toString(36).slice(2)}`;
const TPL = `tpl-${RUN}`;
const CAT = `cat-${RUN}`;

let host: TestHost;
const as = (role: keyof typeof KEYS) => ({ env: { MCPFLEET_HOST: host.url, MCPFLEET_API_KEY: KEYS[role] } });

describeWith([podman], "create from a template / a catalog entry, logs -f (built binary, Podman host)", () => {
  beforeAll(async () => {
    ensureBuilt();
    const fixtures = everythingCatalog(mkdtempSync(join(tmpdir(), "mcpfleet-cli-create-")));
    host = await startTestHost({
      ...podmanHostEnv(OWNER),
      TEMPLATES_DIR: fixtures.templatesDir,
      CATALOG_DIR: fixtures.catalogDir,
      HEALTH_INTERVAL_MS: "1000",
    });
  }, 300_000);
  afterAll(async () => {
    for (const name of [TPL, CAT]) await host?.call("DELETE", `/v1/mcp-server-instances/${name}`).catch(() => {});
    await host?.close();
    await removeOwned(OWNER);
  }, 120_000);

  it("create -t: --set fills the environment, --secret reads stdin; running, the value only in the container", async () => {
    const created = await runCli(
      [
        "create",
        TPL,
        "-t",
        "everything-http",
        "--set",
        "GREETING=from the cli",
        "--secret",
        "UPSTREAM_TOKEN",
        "--json",
      ],
      { ...as("operator"), stdin: `${TEMPLATE_CANARY}\n` },
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const body = JSON.parse(created.stdout);
    expect(body.name).toBe(TPL);
    expect(body.json_spec.environment).toMatchObject({ GREETING: "from the cli" });
    expect(body.json_spec.environment.UPSTREAM_TOKEN).toMatch(/^secret_ref:instance_[^:]+:UPSTREAM_TOKEN$/);
    await host.fleet.instances.waitFor(TPL, "running", { timeoutMs: WAIT.timeout });
    expect(await readInContainer(OWNER, body.id, "/run/secrets/UPSTREAM_TOKEN")).toBe(TEMPLATE_CANARY);
    const got = await runCli(["get", TPL], as("viewer"));
    expect(got.code).toBe(0);
    expect(`${created.stdout}${got.stdout}${got.stderr}`).not.toContain(TEMPLATE_CANARY);
    // missing the template's required secret: refused with the variable's path, exit 6
    const missing = await runCli(
      ["create", `${TPL}-2`, "-t", "everything-http", "--set", "GREETING=x"],
      as("operator"),
    );
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain("UPSTREAM_TOKEN");
  });

  it("create -c: the entry's required secret is asked for on its own (stdin); a bad choice is refused by path", async () => {
    const bad = await runCli(["create", CAT, "-c", CATALOG_ENTRY, "--set", "EVERYTHING_MODE=kelvin"], {
      ...as("operator"),
      stdin: `${CATALOG_CANARY}\n`,
    });
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain("values.EVERYTHING_MODE");
    expect(`${bad.stdout}${bad.stderr}`).not.toContain(CATALOG_CANARY);
    expect((await host.call("GET", `/v1/mcp-server-instances/${CAT}`, { role: "viewer" })).status).toBe(404);

    const created = await runCli(["create", CAT, "-c", CATALOG_ENTRY, "--set", "EVERYTHING_MODE=thorough"], {
      ...as("operator"),
      stdin: `${CATALOG_CANARY}\n`,
    });
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^${CAT}: created \\(`));
    await host.fleet.instances.waitFor(CAT, "running", { timeoutMs: WAIT.timeout });
    const rest = await host.call("GET", `/v1/mcp-server-instances/${CAT}`, { role: "viewer" });
    expect(rest.body.json_spec).toMatchObject({ type: "docker", transport: "stdio" });
    expect(rest.body.json_spec.environment.EVERYTHING_MODE).toBe("thorough");
    expect(rest.body.json_spec.environment.EVERYTHING_TOKEN).toMatch(/^secret_ref:/);
    expect(await readInContainer(OWNER, rest.body.id, "/run/secrets/EVERYTHING_TOKEN")).toBe(CATALOG_CANARY);
    const ls = await runCli(["ls"], as("viewer"));
    expect(ls.stdout).toMatch(new RegExp(`\\n${CAT}\\s+\\S+\\s+docker\\s+running`));
    expect(`${created.stdout}${ls.stdout}`).not.toContain(CATALOG_CANARY);
  });

  it("logs -f prints what is there, then lines as the server writes them, until Ctrl-C (SIGINT)", async () => {
    const follower = startCli(["logs", TPL, "-f"], as("viewer"));
    try {
      // the HTTP server announces itself at start, then logs one line per MCP POST it receives
      await vi.waitFor(() => expect(follower.stdout()).toContain("listening on port 3001"), WAIT);
      const posts = () => follower.stdout().split("Received MCP POST request").length - 1;
      const before = posts();
      const call = await runCli(["call", TPL, "echo", "message=follow me"], as("operator"));
      expect(call.code).toBe(0);
      await vi.waitFor(() => expect(posts()).toBeGreaterThan(before), WAIT);
      expect(follower.proc.exitCode).toBeNull();
    } finally {
      follower.proc.kill("SIGINT");
    }
    expect(await follower.exited).toBe(130);
    expect(follower.stderr()).toBe("");
  });
});
