import { isIP } from "node:net";
import { resolve } from "node:path";
import { FleetError } from "../errors.js";
import { isContainerSpec } from "../model/spec-guards.js";
import type { AnyInstanceSpec } from "../model/spec-types.js";

const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata", "metadata.azure.com", "instance-data"]);

function linkLocal(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (METADATA_HOSTS.has(h)) return true;
  const kind = isIP(h);
  if (kind === 4) return h.startsWith("169.254.") || h === "100.100.100.200";
  if (kind === 6) return /^fe[89ab][0-9a-f]:/.test(h) || h === "fd00:ec2::254" || h.startsWith("::ffff:169.254.");
  return false;
}

/** Refuses url endpoints on link-local and cloud-metadata addresses (SSRF) unless allowed. */
export function checkEndpoint(endpoint: string, allowUnsafe: boolean): void {
  if (allowUnsafe) return;
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    throw new FleetError("SPEC_INVALID", `endpoint is not a URL`, { path: "json_spec.endpoint" });
  }
  if (linkLocal(host)) {
    throw new FleetError("ENDPOINT_REFUSED", `endpoint host ${host} is link-local or a cloud metadata address`, {
      path: "json_spec.endpoint",
      isRetryable: false,
    });
  }
}

/** Refuses bind mounts whose host path is not under an allowed prefix. */
export function checkHostPaths(spec: AnyInstanceSpec, allowed: string[]): void {
  if (!isContainerSpec(spec)) return;
  const roots = allowed.map((p) => resolve(p));
  spec.volumes.forEach((v, i) => {
    if (v.kind !== "bind") return;
    const source = resolve(v.source);
    const ok = roots.some((root) => source === root || source.startsWith(root.endsWith("/") ? root : `${root}/`));
    if (!ok) {
      throw new FleetError(
        "HOST_PATH_REFUSED",
        `host bind mount ${v.source} is not allowed by the host configuration`,
        {
          path: `json_spec.volumes.${i}.source`,
          isRetryable: false,
          details: { hostPath: v.source },
        },
      );
    }
  });
}
