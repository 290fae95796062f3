import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
/** Absolute path of server-everything's launcher (`node <path> stdio|streamableHttp`). */
export const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);

/** Spawns server-everything in stdio mode (test helper). */
export function spawnEverything() {
  const child = spawn(process.execPath, [EVERYTHING, "stdio"], { stdio: ["pipe", "pipe", "ignore"] });
  process.once("exit", () => child.kill("SIGKILL"));
  return child;
}

/** A free loopback port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts server-everything in `streamableHttp` or `sse` mode on a free port; resolves once it listens. */
export async function startEverythingHttp(mode: "streamableHttp" | "sse" = "streamableHttp") {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, mode], {
    env: { PATH: process.env.PATH ?? "", PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stderr.on("data", (c: Buffer) => {
      out += c.toString();
      if (/listening|running/i.test(out)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server-everything exited (${code}): ${out}`)));
  });
  // never outlive the test process, even when a hook fails before cleanup
  process.once("exit", () => child.kill("SIGKILL"));
  const path = mode === "sse" ? "/sse" : "/mcp";
  return { port, url: `http://127.0.0.1:${port}${path}`, child, stop: () => child.kill("SIGKILL") };
}
