import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkService } from "@mcpfleet/core/testing";

export const CLI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = resolve(CLI_DIR, "../..");
export const BIN = join(CLI_DIR, "dist/bin.js");
/** The real server-everything from npm (a dev dependency), run as a stdio process. */
export const EVERYTHING = join(
  realpathSync(join(CLI_DIR, "node_modules/@modelcontextprotocol/server-everything")),
  "dist/index.js",
);

const newest = (dir: string): number => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
};

/**
 * Builds the CLI (and the workspace packages it runs on) when a dist is missing or the CLI's
 * sources are newer than its bundle. CI builds first (`pnpm build`), so there this is a check only.
 */
export function ensureBuilt(): void {
  const deps = ["core", "mcp", "backend-process"].map((p) => join(REPO_ROOT, "packages", p, "dist/index.js"));
  if (deps.some((d) => !existsSync(d)))
    execFileSync("pnpm", ["-r", "--filter", "@mcpfleet/cli...", "build"], { cwd: REPO_ROOT, stdio: "ignore" });
  if (!existsSync(BIN) || newest(join(CLI_DIR, "src")) > statSync(BIN).mtimeMs)
    execFileSync("pnpm", ["--filter", "@mcpfleet/cli", "build"], { cwd: REPO_ROOT, stdio: "ignore" });
}

/** The environment of a CLI run: nothing of the test runner's beyond PATH and HOME. */
export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    // no stray config file of the machine's user
    XDG_CONFIG_HOME: "/nonexistent-mcpfleet-test",
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built binary to completion. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {},
): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? CLI_DIR,
      env: cliEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => ok({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

export interface Running {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts the built binary and leaves it running (`up`, `events -f`). */
export function startCli(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? CLI_DIR,
    env: cliEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return { proc, stdout: () => out, stderr: () => err, exited } satisfies Running;
}

/** Every live descendant of a process (read from /proc), children first. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent)
      if (pp === p && !out.includes(c)) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    // a zombie is not running anything
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

/** `checkService` status of tmux (real terminals for the interactive tests). */
export const tmuxAvailable = () =>
  checkService("tmux (apt-get install -y tmux; scripts/test-env.sh does)", async () => {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  });

/** A command line for a shell, each word single-quoted. */
export const shellLine = (words: string[]): string => words.map((s) => `'${s.replaceAll("'", "'\\''")}'`).join(" ");

/**
 * A tmux server of the test's own (its own socket: nothing shared with a tmux the machine's user runs), `tmux(...)`
 * running its commands; `screen(session)` is what the session's pane shows (history included, wrapped lines joined).
 */
export function tmuxServer(tag: string) {
  const socket = `mcpfleet-cli-test-${tag}-${process.pid}-${Date.now()}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  return {
    tmux,
    screen: (session: string) => tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-200"),
    kill() {
      try {
        tmux("kill-server");
      } catch {
        // already gone
      }
    },
  };
}
