import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { appendFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sh } from "./netns.js";

/** A TCP port nothing listens on right now (for servers a test starts itself). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface PrivatePostgres {
  url: string;
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

/**
 * A PostgreSQL of this test only (initdb in a temp dir, run as the `postgres` user, trust auth),
 * listening on `address`: the test can stop and start it with pg_ctl.
 */
export async function privatePostgres(address = "127.0.0.1", allow?: string): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "mcpfleet-pg-"));
  const uid = Number((await sh("id", ["-u", "postgres"])).trim());
  const gid = Number((await sh("id", ["-g", "postgres"])).trim());
  chownSync(dir, uid, gid);
  const data = join(dir, "data");
  const asPg = (args: string[]) => sh("runuser", ["-u", "postgres", "--", ...args]);
  await asPg(["initdb", "-D", data, "-U", "postgres", "--auth=trust", "-N"]);
  if (allow) await appendFile(join(data, "pg_hba.conf"), `host all all ${allow} trust\n`);
  const port = await freePort();
  const opts = `-c listen_addresses=${address} -p ${port} -k ${dir} -c fsync=off -c max_connections=60`;
  const start = async () => {
    await asPg(["pg_ctl", "-D", data, "-l", join(dir, "log"), "-w", "-o", opts, "start"]);
  };
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    await asPg(["pg_ctl", "-D", data, "-m", mode, "-w", "stop"]);
  };
  await start();
  return {
    url: `postgres://postgres@${address}:${port}/postgres`,
    start,
    stop,
    async remove() {
      await stop("immediate").catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
