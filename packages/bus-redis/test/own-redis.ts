import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pingRedis, sleep } from "./helpers.js";

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

/** A private redis-server with AOF persistence on a spare port, restartable (never the shared one). */
export async function ownRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--dir",
        dir,
      ],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 10_000;
    while ((await pingRedis(url).catch(() => false)) !== true) {
      if (Date.now() > deadline) throw new Error("own redis-server did not start");
      await sleep(20);
    }
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM"); // clean shutdown: the AOF is complete
    await exited;
  };
  await start();
  return {
    url,
    port,
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
