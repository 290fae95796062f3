import type { ChildProcess } from "node:child_process";

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function exitOf(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}

/**
 * Stops a detached child's whole process group: SIGTERM (to `termGroup` when given), up to `graceMs` for the leader to exit,
 * then SIGKILL to whatever of the group is left (grandchildren included).
 */
export async function killGroup(child: ChildProcess, graceMs: number, termGroup?: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (!hasExited(child)) {
    // a bwrap sandbox: SIGTERM goes to the sandboxed group (bwrap itself would die at once and take
    // the namespace down with SIGKILL); SIGKILL to bwrap's group ends the whole pid namespace
    signalGroup(termGroup ?? pid, "SIGTERM");
    const exited = await exitOf(child, graceMs);
    if (!exited) {
      signalGroup(pid, "SIGKILL");
      await exitOf(child, 5_000);
    }
  }
  signalGroup(pid, "SIGKILL");
}

/** Synchronous best effort (process `exit` hook). */
export function killGroupNow(child: ChildProcess): void {
  if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
}
