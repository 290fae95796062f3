import { chmodSync, chownSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "@mcpfleet/core";
import type { ParsedOptions } from "./options.js";
import {
  bwrapWorks,
  instanceDirName,
  isRoot,
  nodePrefix,
  realPath,
  type SandboxConfig,
  sandboxRefused,
} from "./sandbox.js";

const NOBODY = 65534;

/** The runtime's work directory: where instance homes and pid records live. */
export function workDirOf(opts: ParsedOptions): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return realPath(opts.workDir ?? join(tmpdir(), `mcpfleet-process-${uid}`));
}

/**
 * Checks the sandbox choice at construction (explicit choices that cannot hold throw at once) and
 * returns the lazy resolution of `auto` (bwrap when it works, else a separate user as root, else
 * refused), run once at the first deploy.
 */
export function sandboxResolver(opts: ParsedOptions, workDir: string, logger: Logger): () => Promise<SandboxConfig> {
  const mode = opts.sandbox ?? "auto";
  if (mode === "none" && isRoot() && !opts.allowRoot) {
    throw sandboxRefused(
      'sandbox "none" would run children as root; set allowRoot: true to accept that, or use bwrap/user',
    );
  }
  if (mode === "user" && !isRoot()) {
    throw sandboxRefused('sandbox "user" needs the host to run as root (it switches children to an unprivileged uid)');
  }
  const base = {
    uid: opts.uid ?? NOBODY,
    gid: opts.gid ?? opts.uid ?? NOBODY,
    bwrap: opts.bwrapPath ?? "bwrap",
    readOnlyPaths: opts.readOnlyPaths ?? [],
    hiddenPaths: opts.hiddenPaths ?? [],
    workDir,
  };
  let resolved: Promise<SandboxConfig> | undefined;
  const resolve = async (): Promise<SandboxConfig> => {
    if (mode === "none" || mode === "user") return { ...base, mode };
    if (await bwrapWorks(base.bwrap, base.uid, base.gid)) return { ...base, mode: "bwrap" };
    if (mode === "bwrap") throw sandboxRefused(`sandbox "bwrap": ${base.bwrap} is missing or cannot create namespaces`);
    if (isRoot()) return { ...base, mode: "user" };
    throw sandboxRefused(
      'no working bubblewrap (install the "bubblewrap" package) and not root (cannot switch users): refusing to run children with the host\'s own user; choose sandbox "none" to accept that',
    );
  };
  return () => {
    resolved ??= resolve().then((cfg) => {
      logger.info({ sandbox: cfg.mode, uid: cfg.uid, gid: cfg.gid }, "process sandbox");
      const prefix = nodePrefix();
      const blocked = prefix && isRoot() && cfg.mode !== "none" ? untraversableAncestor(prefix) : undefined;
      if (blocked) {
        logger.warn(
          { nodePrefix: prefix, blocked, uid: cfg.uid },
          "children that run the host's node will fail: the sandbox's uid cannot traverse this directory (install node under a world-readable path, e.g. /opt or /usr/local)",
        );
      }
      return cfg;
    });
    return resolved;
  };
}

/** The first directory above `path` that others cannot traverse (no o+x), if any. */
export function untraversableAncestor(path: string): string | undefined {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Throws unless every directory above the work directory lets others through (the child's uid must reach its home). */
function assertReachable(workDir: string): void {
  const dir = untraversableAncestor(workDir);
  if (dir)
    throw sandboxRefused(`workDir ${workDir} is not reachable by the sandbox's uid: ${dir} is not traversable (o+x)`);
}

/** Creates the work directory (traversable, not listable) and an instance's private home, owned by the child's uid. */
export function prepareHome(cfg: SandboxConfig, instanceId: string): string {
  mkdirSync(cfg.workDir, { recursive: true, mode: 0o711 });
  chmodSync(cfg.workDir, 0o711);
  if (isRoot() && cfg.mode !== "none") assertReachable(cfg.workDir);
  const home = join(cfg.workDir, instanceDirName(instanceId));
  mkdirSync(join(home, ".tmp"), { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  if (isRoot() && cfg.mode !== "none") {
    chownSync(home, cfg.uid, cfg.gid);
    chownSync(join(home, ".tmp"), cfg.uid, cfg.gid);
  }
  return home;
}
