import { open, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { FleetError } from "../errors.js";

export interface FileLockOptions {
  /** A lock older than this is considered abandoned (its holder crashed). */
  staleMs?: number;
  /** Give up after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function isStale(lockPath: string, staleMs: number): Promise<boolean> {
  try {
    const [info, body] = await Promise.all([stat(lockPath), readFile(lockPath, "utf8")]);
    const [pidText, host] = body.split(" ");
    const pid = Number(pidText);
    if (host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid)) return true;
    return Date.now() - info.mtimeMs > staleMs;
  } catch {
    return false; // vanished or half-written: retry
  }
}

/**
 * A cross-process advisory lock: an O_EXCL lock file holding `pid host time`. A holder that died
 * (same host, pid gone) or a lock older than `staleMs` is broken.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const staleMs = options.staleMs ?? 10_000;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let delay = 1;
  for (;;) {
    if (options.signal?.aborted) throw new FleetError("ABORTED", "lock wait aborted");
    try {
      const handle = await open(lockPath, "wx", 0o600);
      try {
        await handle.writeFile(`${process.pid} ${hostname()} ${Date.now()}`);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new FleetError("INTERNAL", `cannot create lock file ${lockPath}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (await isStale(lockPath, staleMs)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new FleetError("TIMEOUT", `timed out waiting for lock ${lockPath}`, { path: lockPath });
      }
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 50);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
