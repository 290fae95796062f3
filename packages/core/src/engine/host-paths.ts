import { realpathSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { FleetError } from "../errors.js";
import { isContainerSpec, isProcessSpec } from "../model/spec-guards.js";
import type { AnyInstanceSpec } from "../model/spec-types.js";

/**
 * The path with every symlink of its existing part resolved (`allowed/etc-link/passwd` ->
 * `/etc/passwd`); the part that does not exist yet is appended as written (it has no links).
 */
export function realHostPath(path: string): string {
  let head = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync.native(head), ...rest);
    } catch {
      const up = dirname(head);
      if (up === head) return resolve(path);
      rest.unshift(head.slice(up === sep ? 1 : up.length + 1));
      head = up;
    }
  }
}

const under = (path: string, root: string) =>
  path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);

/** The host paths a spec uses: bind-mount sources of containers, the working directory of processes. */
function hostPaths(spec: AnyInstanceSpec): Array<{ path: string; at: string }> {
  if (isContainerSpec(spec)) {
    return spec.volumes.flatMap((v, i) =>
      v.kind === "bind" ? [{ path: v.source, at: `json_spec.volumes.${i}.source` }] : [],
    );
  }
  if (isProcessSpec(spec) && spec.cwd !== undefined) return [{ path: spec.cwd, at: "json_spec.cwd" }];
  return [];
}

/**
 * Refuses host paths outside the allowed roots, compared on real paths (symlinks resolved on both
 * sides), so a link inside an allowed directory cannot point out of it. Run at create/update and
 * again right before each deploy (a link may have changed since).
 */
export function checkHostPaths(spec: AnyInstanceSpec, allowed: string[]): void {
  const used = hostPaths(spec);
  if (used.length === 0) return;
  const roots = allowed.map(realHostPath);
  for (const { path, at } of used) {
    const real = realHostPath(path);
    if (roots.some((root) => under(real, root))) continue;
    const via = real === resolve(path) ? "" : ` (really ${real})`;
    const message = `host path ${path}${via} is not under an allowed host path (${allowed.length ? allowed.join(", ") : "none configured"})`;
    throw new FleetError("HOST_PATH_REFUSED", message, {
      path: at,
      issues: [{ path: at, message }],
      isRetryable: false,
      details: { hostPath: path, realPath: real },
    });
  }
}
