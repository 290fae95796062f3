import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface RunChildOptions {
  /** Working directory; default `process.cwd()`. */
  cwd?: string;
  /** Node flags before the script; default tsx as an import hook with workspace packages resolved to src. */
  execArgv?: string[];
}

/**
 * Runs a script in ONE node process (by default a .ts file through tsx as an import hook), so a SIGKILL
 * really kills it (the tsx CLI would leave its node child running): crash tests of durable buses.
 * Collects the JSON lines of its stdout; `waitFor` polls them, `kill` waits for the exit.
 */
export function runChild(script: string, env: Record<string, string>, options: RunChildOptions = {}): Child {
  const execArgv = options.execArgv ?? ["--conditions=@mcpfleet/source", "--import", "tsx"];
  const proc = spawn(process.execPath, [...execArgv, script], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    try {
      lines.push(JSON.parse(l));
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return {
    proc,
    lines,
    waitFor(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`child ${script} did not report in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async kill(signal = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
