import { spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { FleetError, type ProcessSpec } from "@mcpfleet/core";

const TAG = "[mcpfleet/backend-process]";

export type SandboxMode = "bwrap" | "user" | "none";

export interface SandboxConfig {
  mode: SandboxMode;
  uid: number;
  gid: number;
  bwrap: string;
  readOnlyPaths: string[];
  hiddenPaths: string[];
  workDir: string;
}

/** What to spawn for one child: the program, its argv and the spawn options. */
export interface LaunchPlan {
  file: string;
  args: string[];
  options: SpawnOptions;
  /** bwrap writes `{"child-pid": N}` on fd 3 (the sandboxed process group's leader, as the host sees it). */
  infoFd: boolean;
}

/** System directories every bwrap sandbox sees read-only (programs, libraries, /etc for DNS, TLS roots, passwd). */
const SYSTEM_PATHS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];

export const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

const within = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** Resolves symlinks of the part of `path` that exists. */
export function realPath(path: string): string {
  let head = resolve(path);
  const tail: string[] = [];
  for (;;) {
    try {
      return resolve(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return resolve(path);
      tail.push(head.slice(up.length).replace(/^\//, ""));
      head = up;
    }
  }
}

/** Runs `bwrap … true` the way children will run; true when it exits 0. */
export function bwrapWorks(bwrap: string, uid: number, gid: number, spawn = nodeSpawn): Promise<boolean> {
  return new Promise((done) => {
    const args = ["--unshare-user", "--unshare-pid", "--die-with-parent", "--uid", String(uid), "--gid", String(gid)];
    for (const p of SYSTEM_PATHS) args.push(...systemBind(p));
    args.push("--proc", "/proc", "--dev", "/dev", "true");
    try {
      const child = spawn(bwrap, args, { stdio: "ignore", ...(isRoot() ? { uid, gid } : {}) });
      child.once("error", () => done(false));
      child.once("exit", (code) => done(code === 0));
    } catch {
      done(false);
    }
  });
}

function systemBind(path: string): string[] {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return ["--symlink", readlinkSync(path), path];
    if (st.isDirectory()) return ["--ro-bind", path, path];
  } catch {
    // not on this system
  }
  return [];
}

/** The node installation the host runs (so `node` and `npx` work when it lives outside /usr). */
export function nodePrefix(): string | undefined {
  const prefix = dirname(dirname(realPath(process.execPath)));
  return SYSTEM_PATHS.some((p) => within(prefix, p)) ? undefined : prefix;
}

/**
 * bwrap arguments: user, pid, ipc and uts namespaces (net too when the spec turns networking off),
 * system directories and `readOnlyPaths` read-only, the spec's cwd read-only, hidden paths covered
 * by an empty tmpfs (or /dev/null for a file), a private /tmp, a fresh /proc and a minimal /dev,
 * and the instance's home directory as the only writable host path.
 */
export function bwrapArgs(cfg: SandboxConfig, spec: ProcessSpec, home: string): string[] {
  const args = ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"];
  if (spec.sandbox?.network === false) args.push("--unshare-net");
  args.push("--die-with-parent", "--new-session", "--uid", String(cfg.uid), "--gid", String(cfg.gid));
  args.push("--hostname", "mcpfleet", "--info-fd", "3");
  for (const p of SYSTEM_PATHS) args.push(...systemBind(p));
  const prefix = nodePrefix();
  const extra = [...(prefix ? [prefix] : []), ...cfg.readOnlyPaths, ...(spec.cwd ? [spec.cwd] : [])];
  const bound: string[] = [...SYSTEM_PATHS];
  for (const p of extra) {
    const real = realPath(p);
    if (!existsSync(real)) continue;
    args.push("--ro-bind", real, real);
    bound.push(real);
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm");
  for (const h of [...cfg.hiddenPaths, cfg.workDir]) {
    const real = realPath(h);
    if (!bound.some((b) => within(real, b)) || !existsSync(real)) continue;
    args.push(...(lstatSync(real).isDirectory() ? ["--tmpfs", real] : ["--ro-bind", "/dev/null", real]));
  }
  args.push("--bind", home, home, "--chdir", spec.cwd ? realPath(spec.cwd) : home);
  return args;
}

export function launchPlan(
  cfg: SandboxConfig,
  spec: ProcessSpec,
  argv: { cmd: string; args: string[] },
  env: Record<string, string>,
  home: string,
): LaunchPlan {
  const stdio: SpawnOptions["stdio"] = [spec.transport === "stdio" ? "pipe" : "ignore", "pipe", "pipe"];
  const drop = isRoot() && cfg.mode !== "none" ? { uid: cfg.uid, gid: cfg.gid } : {};
  if (cfg.mode === "bwrap") {
    return {
      file: cfg.bwrap,
      args: [...bwrapArgs(cfg, spec, home), "--", argv.cmd, ...argv.args],
      options: { env, detached: true, stdio: [...stdio, "pipe"], ...drop },
      infoFd: true,
    };
  }
  return {
    file: argv.cmd,
    args: argv.args,
    options: { env, detached: true, stdio, cwd: spec.cwd ?? home, ...drop },
    infoFd: false,
  };
}

/** Refusal of a configuration that would run children with the host's privileges. */
export function sandboxRefused(reason: string): FleetError {
  return new FleetError("SANDBOX_UNAVAILABLE", `${TAG} ${reason}`, { path: "sandbox", isRetryable: false });
}

/** Relative id-safe directory name of an instance. */
export const instanceDirName = (id: string) => encodeURIComponent(id).replace(/%/g, "_").slice(0, 200) || "_";

/** Whether `cmd` names an existing file (a path, or a name found on `PATH`), as execvp would find it. */
export function commandExists(cmd: string, path: string | undefined): boolean {
  const isFile = (p: string) => {
    try {
      return !lstatSync(realPath(p)).isDirectory();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) return isFile(cmd);
  return (path ?? "").split(":").some((dir) => dir !== "" && isFile(`${dir}/${cmd}`));
}
