import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KEYS, startTestHost, type TestHost } from "../../../examples/express-host/test/helpers.js";
import { EVERYTHING, ensureBuilt, type Running, runCli, startCli } from "./helpers.js";

// each test runs the built binary and real servers several times: generous under a loaded machine
vi.setConfig({ testTimeout: 240_000, hookTimeout: 300_000 });

const WAIT = { timeout: 60_000, interval: 100 };
const CANARY = "CANARY-cli-remote-4e7a-never-print-me";

let host: TestHost;
let dir: string;
const as = (role: keyof typeof KEYS | "none") => ({
  env: { MCPFLEET_HOST: host.url, MCPFLEET_API_KEY: role === "none" ? undefined : KEYS[role] },
});

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "mcpfleet-cli-remote-"));
  // real processes: server-everything runs as a sandboxed stdio child of the host
  host = await startTestHost({ FLEET_RUNTIME: "process" });
}, 300_000);
afterAll(async () => {
  await host?.close();
});

/** A TCP proxy in front of the host that can drop every connection and refuse new ones for a while. */
function flakyProxy(target: number): Promise<{ url: string; down(on: boolean): void; close(): void }> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = createConnection(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      ok({
        url: `http://127.0.0.1:${port}`,
        down(on) {
          refusing = on;
          if (on) for (const s of sockets) s.destroy();
        },
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      });
    }),
  );
}

describe("remote commands (built binary against a listening host)", () => {
  it("--help and completion come from the same definitions; a bad command is a usage error (2)", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    for (const c of ["up", "ls", "get", "create", "start", "stop", "rm", "logs", "tools", "call", "events"])
      expect(help.stdout).toMatch(new RegExp(`mcpfleet ${c}\\b`));
    const callHelp = await runCli(["call", "--help"]);
    expect(callHelp.stdout).toContain("key=value");
    const completion = await runCli(["completion"]);
    expect(completion.code).toBe(0);
    expect(completion.stdout).toContain("_mcpfleet_yargs_completions");
    const words = await runCli(["--get-yargs-completions", "mcpfleet", "lo"]);
    expect(words.stdout.split("\n")).toContain("logs");
    const bad = await runCli(["frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("USAGE");
  });

  it("without a key: UNAUTHORIZED, exit 3; a config file readable by others is refused; at 0600 it is used", async () => {
    const none = await runCli(["ls"], as("none"));
    expect(none.code).toBe(3);
    expect(none.stderr).toContain("UNAUTHORIZED");
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ host: host.url, apiKey: KEYS.viewer }));
    chmodSync(config, 0o644);
    const loose = await runCli(["--config", config, "ls"]);
    expect(loose.code).toBe(3);
    expect(loose.stderr).toContain("CONFIG_INSECURE");
    expect(loose.stderr).not.toContain(KEYS.viewer);
    chmodSync(config, 0o600);
    const ok = await runCli(["--config", config, "ls", "--json"]);
    expect(ok.code).toBe(0);
    expect(Array.isArray(JSON.parse(ok.stdout))).toBe(true);
  });

  it("create from a spec with a secret on stdin, then ls/get/tools/call/logs/events; the secret is never printed", async () => {
    const spec = join(dir, "everything.json");
    writeFileSync(
      spec,
      JSON.stringify({
        json_spec: { type: "process", command: "node", args: [EVERYTHING, "stdio"], transport: "stdio" },
      }),
    );
    const created = await runCli(["create", "everything", "-f", spec, "--secret", "API_KEY"], {
      ...as("admin"),
      stdin: `${CANARY}\n`,
    });
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^everything: created \(/);
    await host.fleet.instances.waitFor("everything", "running", { timeoutMs: 60_000 });

    const table = await runCli(["ls"], as("viewer"));
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+ID\s+TYPE\s+STATUS\s+DESIRED\s+RESTARTS\s+REASON$/);
    expect(table.stdout).toMatch(/\neverything\s+\S+\s+process\s+running\s+running\s+0/);
    const got = await runCli(["get", "everything", "--json"], as("viewer"));
    expect(JSON.parse(got.stdout).json_spec.environment.API_KEY).toMatch(/^secret_ref:/);

    const tools = await runCli(["tools", "everything", "--json"], as("viewer"));
    expect(tools.code).toBe(0);
    expect(JSON.parse(tools.stdout).map((t: { name: string }) => t.name)).toContain("echo");
    const echoed = await runCli(["call", "everything", "echo", "message=hi from the cli"], as("operator"));
    expect(echoed.code).toBe(0);
    expect(echoed.stdout).toContain("hi from the cli");
    const sum = await runCli(["call", "everything", "get-sum", "a=2", "b=40", "--json"], as("operator"));
    expect(JSON.stringify(JSON.parse(sum.stdout).content)).toContain("42");
    // the value typed on stdin reached the child (and only there)
    const env = await runCli(["call", "everything", "get-env"], as("operator"));
    expect(env.stdout).toContain(CANARY);

    const logs = await runCli(["logs", "everything", "--tail", "50"], as("viewer"));
    expect(logs.code).toBe(0);
    const events = await runCli(["events", "--json", "--instance", "everything"], as("viewer"));
    expect(events.code).toBe(0);
    const lines = events.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.some((e) => e.type === "MCPServerInstanceCreated")).toBe(true);
    expect(lines.some((e) => e.data.status === "running")).toBe(true);
    for (const out of [created, table, got, tools, echoed, logs, events]) {
      expect(out.stdout).not.toContain(CANARY);
      expect(out.stderr).not.toContain(CANARY);
    }
  });

  it("errors carry the host's problem code with meaningful exit codes", async () => {
    const missing = await runCli(["get", "no-such-instance"], as("viewer"));
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("NOT_FOUND");
    const denied = await runCli(["stop", "everything"], as("viewer"));
    expect(denied.code).toBe(3);
    expect(denied.stderr).toContain("FORBIDDEN");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ name: "bad", json_spec: { type: "docker" } }));
    const invalid = await runCli(["create", "-f", bad], as("operator"));
    expect(invalid.code).toBe(6);
    expect(invalid.stderr).toContain("SPEC_INVALID");
    const unreachable = await runCli(["ls"], { env: { MCPFLEET_HOST: "http://127.0.0.1:9", MCPFLEET_API_KEY: "x" } });
    expect(unreachable.code).toBe(7);
    expect(unreachable.stderr).toContain("HOST_UNREACHABLE");
    const toolError = await runCli(["call", "everything", "no-such-tool"], as("operator"));
    expect(toolError.code).not.toBe(0);
  });

  it("events -f follows live and, after the connection drops, resumes with Last-Event-ID without losing events", async () => {
    const proxy = await flakyProxy(host.port);
    let follower: Running | undefined;
    try {
      follower = startCli(["events", "-f", "--json", "--instance", "everything"], {
        env: { MCPFLEET_HOST: proxy.url, MCPFLEET_API_KEY: KEYS.viewer },
      });
      const seen = () =>
        follower!
          .stdout()
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      // the stream is attached once a live event arrives
      await vi.waitFor(async () => {
        await host.call("GET", "/health");
        expect(follower!.proc.exitCode).toBeNull();
        const m = await host.call("GET", "/metrics", { role: "viewer" });
        expect(m.text).toMatch(/^mcpfleet_event_streams [1-9]/m);
      }, WAIT);
      expect((await runCli(["stop", "everything"], as("operator"))).code).toBe(0);
      await vi.waitFor(() => expect(seen().some((e) => e.data?.status === "stopped")).toBe(true), WAIT);

      proxy.down(true);
      await vi.waitFor(() => expect(follower!.stderr()).toContain("reconnecting"), WAIT);
      // these happen while the follower is cut off
      expect((await runCli(["start", "everything"], as("operator"))).code).toBe(0);
      await host.fleet.instances.waitFor("everything", "running", { timeoutMs: 60_000 });
      proxy.down(false);
      await vi.waitFor(() => {
        const after = seen().slice(seen().findIndex((e) => e.data?.status === "stopped") + 1);
        expect(after.some((e) => e.data?.status === "running")).toBe(true);
      }, WAIT);
      const ids = seen()
        .filter((e) => e.cursor !== undefined)
        .map((e) => e.cursor as number);
      expect(ids.every((n) => Number.isInteger(n))).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
      expect(seen().some((e) => "reset" in e)).toBe(false);
    } finally {
      follower?.proc.kill("SIGINT");
      if (follower) expect(await follower.exited).not.toBeNull();
      proxy.close();
    }
  });

  it("rm deletes", async () => {
    const rm = await runCli(["rm", "everything"], as("operator"));
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain("everything: deleting");
    await vi.waitFor(async () => expect((await runCli(["get", "everything"], as("viewer"))).code).toBe(4), WAIT);
  });
});
