// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the fleet.json under test uses ${env:...} placeholders
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { alive, descendants, EVERYTHING, ensureBuilt, REPO_ROOT, type Running, startCli } from "./helpers.js";

// each test runs the built binary and real servers several times: generous under a loaded machine
vi.setConfig({ testTimeout: 240_000, hookTimeout: 300_000 });

const WAIT = { timeout: 90_000, interval: 100 };
const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content ?? []).map((c) => c.text).join("\n");

/** A Claude Desktop `claude_desktop_config.json`, as written for server-everything. */
const claudeConfig = (servers: string[]) => ({
  mcpServers: Object.fromEntries(servers.map((s) => [s, { command: "node", args: [EVERYTHING, "stdio"] }])),
});

async function connect(url: string) {
  const client = new Client({ name: "cli-up-test", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.proc.exitCode === null) r.proc.kill("SIGKILL");
    await r.exited;
  }
});

beforeAll(() => ensureBuilt(), 300_000);

/** Starts `up` and waits for its Ready line; returns the URLs it printed. */
async function upAndReady(dir: string, file: string, env: Record<string, string> = {}) {
  const up = startCli(["up", "-f", file, "--port", "0", "--data-dir", join(dir, "state"), "--allow-path", REPO_ROOT], {
    cwd: dir,
    env,
  });
  running.push(up);
  await vi.waitFor(() => {
    if (up.proc.exitCode !== null) throw new Error(`up exited ${up.proc.exitCode}: ${up.stderr()}`);
    expect(up.stdout()).toContain("Ready.");
  }, WAIT);
  const aggregate = /MCP endpoint[^:]*: (http:\/\/127\.0\.0\.1:\d+\/mcp)\n/.exec(up.stdout())?.[1];
  expect(aggregate).toBeDefined();
  return { up, aggregate: aggregate! };
}

/** SIGINT, a clean exit, and none of the processes `up` started is left. */
async function interrupt(up: Running) {
  const children = descendants(up.proc.pid!);
  expect(children.length).toBeGreaterThan(0);
  up.proc.kill("SIGINT");
  expect(await up.exited).toBe(0);
  await vi.waitFor(() => expect(children.filter(alive)).toEqual([]), { timeout: 15_000, interval: 100 });
  expect(up.stderr()).toContain("mcpfleet: stopped");
}

describe("mcpfleet up (built binary, real server-everything)", () => {
  it("runs a Claude Desktop config; an MCP client calls a tool through the printed URLs; Ctrl-C leaves nothing behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-cli-up-"));
    const file = join(dir, "claude_desktop_config.json");
    writeFileSync(file, JSON.stringify(claudeConfig(["everything"])));
    const { up, aggregate } = await upAndReady(dir, file);
    // plain lines (not a terminal): each state as it came up
    expect(up.stderr()).toMatch(/everything \[created\]: provisioning/);
    expect(up.stderr()).toMatch(/^everything \[created\]: running$/m);
    const perInstance = new RegExp(`  everything: (${aggregate}/everything)\\n`).exec(up.stdout())?.[1];
    expect(perInstance).toBeDefined();

    const direct = await connect(perInstance!);
    expect(text(await direct.callTool({ name: "echo", arguments: { message: "hello from the cli test" } }))).toContain(
      "hello from the cli test",
    );
    await direct.close();
    const all = await connect(aggregate);
    const { tools } = await all.listTools();
    expect(tools.map((t) => t.name)).toContain("everything__echo");
    expect(text(await all.callTool({ name: "everything__echo", arguments: { message: "via aggregate" } }))).toContain(
      "via aggregate",
    );
    await all.close();
    await interrupt(up);
    // no terminal: no escape sequences, no redraw marks, on either stream (up-tty.test.ts has the terminal side)
    for (const out of [up.stdout(), up.stderr()]) {
      expect(out).not.toContain("\x1b");
      expect(out).not.toMatch(/[✔✖■…]/);
    }
  });

  it("a re-run with a changed file applies only the diff (unchanged servers keep their generation)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-cli-up-diff-"));
    const file = join(dir, "mcp.json");
    writeFileSync(file, JSON.stringify(claudeConfig(["alpha", "beta"])));
    const first = await upAndReady(dir, file);
    await interrupt(first.up);
    const byName = () => {
      const store = JSON.parse(readFileSync(join(dir, "state/store.json"), "utf8")) as {
        instances: Array<{ id: string; name: string; generation: number }>;
      };
      return new Map(store.instances.map((i) => [i.name, { id: i.id, generation: i.generation }]));
    };
    const before = byName();
    expect([...before.keys()].sort()).toEqual(["alpha", "beta"]);

    // alpha unchanged, beta changed (an environment variable more), gamma new
    const next = claudeConfig(["alpha", "beta", "gamma"]);
    (next.mcpServers.beta as { env?: Record<string, string> }).env = { LOG_LEVEL: "debug" };
    writeFileSync(file, JSON.stringify(next));
    const second = await upAndReady(dir, file);
    expect(second.up.stderr()).toMatch(/^alpha: /m);
    expect(second.up.stderr()).toMatch(/^beta \[updated\]: /m);
    expect(second.up.stderr()).toMatch(/^gamma \[created\]: /m);
    const after = byName();
    expect(after.get("alpha")).toEqual(before.get("alpha"));
    expect(after.get("beta")!.id).toBe(before.get("beta")!.id);
    expect(after.get("beta")!.generation).toBeGreaterThan(before.get("beta")!.generation);
    const client = await connect(`${second.aggregate}/gamma`);
    expect(text(await client.callTool({ name: "echo", arguments: { message: "gamma up" } }))).toContain("gamma up");
    await client.close();
    await interrupt(second.up);

    // dropping a server from the file removes it on the next run
    writeFileSync(file, JSON.stringify(claudeConfig(["alpha"])));
    const third = await upAndReady(dir, file);
    expect(third.up.stderr()).toContain("beta: removed (no longer in the file)");
    expect(third.up.stderr()).toContain("gamma: removed (no longer in the file)");
    await interrupt(third.up);
  });

  it("runs mcpfleet's own fleet.json: ${env:NAME} secrets come from the environment, reach the server, never the output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-cli-up-fleet-"));
    const file = join(dir, "fleet.json");
    const canary = `CANARY-fleet-${Math.random().toString(36).slice(2)}`;
    writeFileSync(
      file,
      JSON.stringify({
        instances: [
          {
            name: "own",
            description: "server-everything from mcpfleet's own format",
            json_spec: {
              type: "process",
              command: "node",
              args: [EVERYTHING, "stdio"],
              transport: "stdio",
              environment: { PLAIN_SETTING: "visible" },
            },
            secrets: { OWN_TOKEN: "${env:OWN_TOKEN}" },
          },
        ],
      }),
    );
    // without the variable: refused before anything starts, naming the secret's path
    const refused = startCli(["up", "-f", file, "--port", "0", "--data-dir", join(dir, "state")], { cwd: dir });
    running.push(refused);
    expect(await refused.exited).toBe(6);
    expect(refused.stderr()).toContain("instances.0.secrets.OWN_TOKEN");

    const { up, aggregate } = await upAndReady(dir, file, { OWN_TOKEN: canary });
    expect(up.stderr()).toMatch(/^own \[created\]: running$/m);
    const client = await connect(`${aggregate}/own`);
    const env = text(await client.callTool({ name: "get-env", arguments: {} }));
    expect(env).toContain(`"OWN_TOKEN": "${canary}"`);
    expect(env).toContain(`"PLAIN_SETTING": "visible"`);
    await client.close();
    // the store keeps a reference only
    const store = readFileSync(join(dir, "state/store.json"), "utf8");
    expect(store).toMatch(/"OWN_TOKEN":\s*"secret_ref:/);
    expect(store).not.toContain(canary);
    await interrupt(up);
    expect(`${up.stdout()}${up.stderr()}`).not.toContain(canary);
  });
});
