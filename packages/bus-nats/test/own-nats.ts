import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pingJetStream, sleep } from "./helpers.js";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

// Debian installs it in /usr/sbin, which is not on every PATH
const NATS_SERVER =
  process.env.NATS_SERVER_BIN ?? (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server");

/** A private nats-server with file-backed JetStream on a spare port, restartable (never the shared one). */
export async function ownNats() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-nats-"));
  const url = `nats://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(NATS_SERVER, ["-js", "-sd", dir, "-p", String(port), "-a", "127.0.0.1"], { stdio: "ignore" });
    const deadline = Date.now() + 15_000;
    while ((await pingJetStream(url).catch(() => false)) !== true) {
      if (Date.now() > deadline) throw new Error("own nats-server did not start");
      await sleep(50);
    }
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  };
  await start();
  return {
    url,
    restart: async (downMs = 300) => {
      await stop();
      await sleep(downMs);
      await start();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
