import { createServer } from "node:net";
import type { RuntimeBackend, RuntimeEvent } from "@mcpfleet/core";
import { FleetError, recordingLogger } from "@mcpfleet/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, describe, expect, it } from "vitest";
import { processRuntime } from "../src/index.js";
import { EVERYTHING, everythingStdio, processRequest, SANDBOX } from "./helpers.js";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until(fn: () => Promise<boolean>, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function connect(url: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: "t", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

const collect = async (it: AsyncIterable<{ line: string }>) => {
  const out: string[] = [];
  for await (const l of it) out.push(l.line);
  return out;
};

describe("processRuntime", () => {
  const log = recordingLogger();
  const runtime = processRuntime({ ...SANDBOX, logger: log, killGraceMs: 1000 });
  afterAll(() => runtime.close());

  it("validates options and specs with FleetErrors", async () => {
    expect(() => processRuntime({ logLimit: -1 })).toThrow(/\[mcpfleet\/backend-process\] option "logLimit"/);
    const noCmd = await runtime.deploy(processRequest("bad", { command: [] })).catch((e) => e);
    expect(FleetError.isInstance(noCmd) && noCmd.code).toBe("SPEC_INVALID");
    expect((noCmd as FleetError).path).toBe("json_spec.command");
    const noPort = await runtime
      .deploy(processRequest("bad2", { command: ["x"], transport: "streamable-http" }))
      .catch((e) => e);
    expect((noPort as FleetError).path).toBe("json_spec.port");
    const docker = await runtime
      .deploy({ ...processRequest("bad3", { command: ["x"] }), spec: { type: "docker" } as never })
      .catch((e) => e);
    expect((docker as FleetError).code).toBe("UNSUPPORTED");
  });

  it("reports a missing program as a permanent failure", async () => {
    const observed = await runtime.deploy(processRequest("enoent", { command: ["/nonexistent/mcp-server"] }));
    expect(observed.phase).toBe("failed");
    expect(observed.permanent).toBe(true);
    expect(observed.reason).toMatch(/ENOENT/);
    await runtime.remove("enoent");
  });

  it("gives the child a minimal env plus its env and secrets, and never logs the secret", async () => {
    const CANARY = "canary-secret-7f3a9c";
    process.env.MCPFLEET_PARENT_ONLY = "parent-value";
    const id = "env-check";
    const req = everythingStdio(id, { PLAIN: "plain-value" });
    req.secrets.env.API_KEY = CANARY;
    const observed = await runtime.deploy(req);
    expect(observed.phase).toBe("running");
    const client = await connect(observed.endpoint!, observed.endpointHeaders);
    const res = await client.callTool({ name: "get-env", arguments: {} });
    const env = JSON.parse((res.content as { text: string }[])[0]!.text) as Record<string, string>;
    await client.close();
    expect(env.API_KEY).toBe(CANARY);
    expect(env.PLAIN).toBe("plain-value");
    expect(env.MCPFLEET_PARENT_ONLY).toBeUndefined();
    expect(env.PATH).toBe(process.env.PATH);
    const visible = JSON.stringify([
      log.lines,
      await runtime.inspect(id),
      await runtime.list(),
      await collect(runtime.logs(id)),
    ]);
    expect(visible).not.toContain(CANARY);
    await runtime.remove(id);
  });

  it("never hands the parent's environment over, and refuses root children unless allowed", () => {
    expect(() => processRuntime({ inheritEnv: true } as never)).toThrow(/option "inheritEnv" was removed/);
    if (process.getuid?.() === 0) {
      const err = (() => {
        try {
          processRuntime({ sandbox: "none" });
        } catch (e) {
          return e;
        }
      })();
      expect(FleetError.isInstance(err) && err.code).toBe("SANDBOX_UNAVAILABLE");
      expect(() => processRuntime({ sandbox: "none", allowRoot: true }).close()).not.toThrow();
    } else {
      expect(() => processRuntime({ sandbox: "user" })).toThrow(/needs the host to run as root/);
    }
  });

  it("kills the whole process group on remove, SIGKILL after the grace period", async () => {
    // the leader ignores SIGTERM and has a grandchild; both must be gone after remove
    const script = `
      const { spawn } = require("node:child_process");
      process.on("SIGTERM", () => {});
      const g = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      console.error("grandchild " + g.pid);
      require("node:http").createServer().listen(Number(process.env.PORT), "127.0.0.1");`;
    const port = await freePort();
    const id = "group";
    const runtime = processRuntime({ sandbox: "none", allowRoot: true, killGraceMs: 1000 });
    await runtime.deploy(
      processRequest(id, { command: [process.execPath, "-e", script], transport: "streamable-http", port }),
    );
    let grandchild = 0;
    await until(async () => {
      const lines = await collect(runtime.logs(id));
      const m = lines.join("\n").match(/grandchild (\d+)/);
      if (m) grandchild = Number(m[1]);
      return grandchild > 0;
    }, "grandchild pid");
    const leader = (runtime as ReturnType<typeof processRuntime>).pid(id)!;
    expect(alive(leader)).toBe(true);
    expect(alive(grandchild)).toBe(true);
    await runtime.remove(id);
    await until(async () => !alive(leader) && !alive(grandchild), "group to die", 5000);
    expect(await runtime.inspect(id)).toBeUndefined();
    await runtime.close();
  });

  it("does not hold a removal up while a deploy waits for a port that never opens", async () => {
    const rt = processRuntime({ ...SANDBOX, startTimeoutMs: 120_000, killGraceMs: 200 });
    const port = await freePort();
    const deploying = rt.deploy(
      processRequest("mute", {
        command: [process.execPath, "-e", "setInterval(() => {}, 1000)"],
        transport: "streamable-http",
        port,
      }),
    );
    await until(async () => (await rt.inspect("mute"))?.phase === "starting", "starting");
    await rt.remove("mute");
    expect((await deploying).phase).toBe("starting");
    expect(await rt.inspect("mute")).toBeUndefined();
    await rt.close();
  });

  it("runs an HTTP server on its port, then reports its exit with a code and a watch event", async () => {
    const port = await freePort();
    const id = "http-everything";
    const ctrl = new AbortController();
    const events: RuntimeEvent[] = [];
    const watching = (async () => {
      for await (const ev of (runtime as RuntimeBackend).watch!({ signal: ctrl.signal })) {
        if (ev.instanceId === id) events.push(ev);
      }
    })();
    const observed = await runtime.deploy(
      processRequest(id, {
        command: [process.execPath, EVERYTHING, "streamableHttp"],
        transport: "streamable-http",
        port,
      }),
    );
    expect(observed).toMatchObject({
      phase: "running",
      endpoint: `http://127.0.0.1:${port}/mcp`,
      transport: "streamable-http",
    });
    const client = await connect(observed.endpoint!, observed.endpointHeaders);
    const echo = await client.callTool({ name: "echo", arguments: { message: "over http" } });
    expect((echo.content as { text: string }[])[0]!.text).toBe("Echo: over http");
    await client.close();
    const again = await runtime.deploy(
      processRequest(id, {
        command: [process.execPath, EVERYTHING, "streamableHttp"],
        transport: "streamable-http",
        port,
      }),
    );
    expect(again.startedAt).toBe(observed.startedAt);
    process.kill(runtime.pid(id)!, "SIGKILL");
    await until(async () => (await runtime.inspect(id))?.phase === "exited", "exit");
    expect((await runtime.inspect(id))?.reason).toBe("killed by SIGKILL");
    await until(async () => events.some((e) => e.kind === "exited"), "exited event");
    ctrl.abort();
    await watching;
    expect(events.map((e) => e.kind)).toEqual(["started", "changed", "exited"]);
    await runtime.remove(id);
  });

  it("reports the exit code of a process that dies on its own", async () => {
    const observed = await runtime.deploy(
      processRequest("exit7", {
        command: [
          process.execPath,
          "-e",
          "console.log('banner'); console.error('bye'); setTimeout(() => process.exit(7), 50)",
        ],
      }),
    );
    await until(async () => (await runtime.inspect("exit7"))?.phase === "exited", "exit");
    const o = await runtime.inspect("exit7");
    expect(o).toMatchObject({ exitCode: 7, reason: "exited with code 7" });
    expect(observed.phase === "exited" || observed.phase === "failed" || observed.phase === "starting").toBe(true);
    expect(await collect(runtime.logs("exit7"))).toEqual(expect.arrayContaining(["bye", "banner"]));
    // non JSON-RPC stdout of a stdio server goes to its logs, never to the host logger
    expect(JSON.stringify(log.lines)).not.toContain("banner");
    await runtime.remove("exit7");
  });

  it("keeps a bounded ring of log lines and follows new ones", async () => {
    const rt = processRuntime({ ...SANDBOX, logLimit: 5, killGraceMs: 200 });
    const port = await freePort();
    const script = `for (let i = 0; i < 20; i++) console.log("line " + i); setTimeout(() => console.error("late"), 300); require("node:http").createServer().listen(Number(process.env.PORT), "127.0.0.1");`;
    await rt.deploy(
      processRequest("ring", { command: [process.execPath, "-e", script], transport: "streamable-http", port }),
      {},
    );
    await until(async () => (await collect(rt.logs("ring"))).includes("line 19"), "lines");
    expect(await collect(rt.logs("ring"))).toEqual(["line 15", "line 16", "line 17", "line 18", "line 19"]);
    expect(await collect(rt.logs("ring", { tail: 2 }))).toEqual(["line 18", "line 19"]);
    const ctrl = new AbortController();
    const followed: string[] = [];
    for await (const l of rt.logs("ring", { follow: true, tail: 0, signal: ctrl.signal })) {
      followed.push(l.line);
      if (l.line === "late") ctrl.abort();
    }
    expect(followed).toEqual(["late"]);
    await rt.close();
    const missing = await collect(rt.logs("nope")).catch((e) => e);
    expect((missing as FleetError).code).toBe("NOT_FOUND");
  });
});
