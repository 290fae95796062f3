import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWith } from "@mcpfleet/core/testing";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { KEYS, startTestHost, type TestHost } from "../../../examples/express-host/test/helpers.js";
import { BIN, EVERYTHING, ensureBuilt, runCli, shellLine, tmuxAvailable, tmuxServer } from "./helpers.js";

// each test runs the built binary and real servers several times: generous under a loaded machine
vi.setConfig({ testTimeout: 240_000, hookTimeout: 300_000 });

const tmuxStatus = await tmuxAvailable();

const CANARY = "CANARY-typed-7f3c-no-echo";
const WAIT = { timeout: 60_000, interval: 100 };
const SESSION = "prompt";
const { tmux, screen: paneOf, kill } = tmuxServer("prompt");
const pane = () => paneOf(SESSION);

describeWith([tmuxStatus], "the secret prompt in a terminal (tmux)", () => {
  let host: TestHost;
  beforeAll(async () => {
    ensureBuilt();
    host = await startTestHost({ FLEET_RUNTIME: "process" });
  }, 300_000);
  afterAll(async () => {
    kill();
    await host?.close();
  });

  it("asks for the secret without echoing what is typed; the value reaches the server, never the screen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-cli-prompt-"));
    const spec = join(dir, "spec.json");
    writeFileSync(
      spec,
      JSON.stringify({
        json_spec: { type: "process", command: "node", args: [EVERYTHING, "stdio"], transport: "stdio" },
      }),
    );
    const command = shellLine([
      "env",
      `MCPFLEET_HOST=${host.url}`,
      `MCPFLEET_API_KEY=${KEYS.admin}`,
      "XDG_CONFIG_HOME=/nonexistent-mcpfleet-test",
      process.execPath,
      BIN,
      "create",
      "typed",
      "-f",
      spec,
      "--secret",
      "API_KEY",
    ]);
    tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "40", `${command}; echo "EXIT=$?"; sleep 600`);
    await vi.waitFor(() => expect(pane()).toContain("secret API_KEY: "), WAIT);
    tmux("send-keys", "-t", SESSION, "-l", CANARY);
    tmux("send-keys", "-t", SESSION, "Enter");
    await vi.waitFor(() => expect(pane()).toMatch(/EXIT=\d+/), WAIT);
    const screen = pane();
    expect(screen).toContain("typed: created (");
    expect(screen).toContain("EXIT=0");
    expect(screen).not.toContain(CANARY);

    await host.fleet.instances.waitFor("typed", "running", { timeoutMs: 60_000 });
    const got = await host.call("GET", "/v1/mcp-server-instances/typed", { role: "viewer" });
    expect(got.body.json_spec.environment.API_KEY).toMatch(/^secret_ref:/);
    expect(got.text).not.toContain(CANARY);
    // what was typed is what the server got
    const env = await runCli(["call", "typed", "get-env"], {
      env: { MCPFLEET_HOST: host.url, MCPFLEET_API_KEY: KEYS.operator },
    });
    expect(env.stdout).toContain(`"API_KEY": "${CANARY}"`);
  });
});
