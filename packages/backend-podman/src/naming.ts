import { createHash } from "node:crypto";

export const LABEL = {
  instanceId: "mcpfleet.instance-id",
  specHash: "mcpfleet.spec-hash",
  managedBy: "mcpfleet.managed-by",
  generation: "mcpfleet.generation",
  transport: "mcpfleet.transport",
  endpointPath: "mcpfleet.endpoint-path",
  containerPort: "mcpfleet.container-port",
  secrets: "mcpfleet.secrets",
  /** Index of the copy (`0..replicas-1`); absent on containers made before replicas (copy 0). */
  replica: "mcpfleet.replica",
  /** How many copies the deploy that made this container asked for. */
  replicas: "mcpfleet.replicas",
  /** Hash of what every copy shares (the spec without `replicas`): equal means scaling keeps the container. */
  template: "mcpfleet.template-hash",
  /** The host IP the container's port is published on (`publishHost`): another value means the option changed. */
  publishHost: "mcpfleet.publish-host",
} as const;

function shortHash(value: string, length = 8): string {
  return createHash("sha256").update(value).digest("hex").slice(0, length);
}

/**
 * Deterministic container name from owner + instance id. Ids that are not already valid container-name
 * characters (or are too long) get a hash suffix so two ids never share a name.
 */
export function containerName(owner: string, instanceId: string): string {
  const clean = instanceId.replace(/[^a-zA-Z0-9_.-]/g, "_");
  const base = `${owner}-${clean}`;
  if (clean === instanceId && base.length <= 120) return base;
  return `${base.slice(0, 110)}-${shortHash(instanceId)}`;
}

/**
 * Name of copy `replica` of an instance: copy 0 keeps `containerName` (so a one-copy instance is
 * named as before replicas), copy i > 0 gets `-r<i>-<hash of id and index>` (the hash keeps another
 * instance whose id ends in `-r<i>` from ever holding the same name).
 */
export function replicaName(owner: string, instanceId: string, replica: number): string {
  const base = containerName(owner, instanceId);
  if (replica === 0) return base;
  return `${base.slice(0, 110)}-r${replica}-${shortHash(`${instanceId}\n${replica}`)}`;
}

/** Podman caps secret names at 64 characters of [a-zA-Z0-9-_.], alphanumeric at both ends. */
const SECRET_NAME_MAX = 64;

/**
 * Prefix every secret of a container starts with: `mcpfleet-<hash of the container name>.`, short
 * whatever the owner and instance id lengths.
 */
export function secretPrefix(container: string): string {
  return `mcpfleet-${shortHash(container, 16)}.`;
}

/** Podman secret name for one env var of one deployment (names only, never values). */
export function secretName(container: string, specHash: string, envName: string): string {
  const head = `${secretPrefix(container)}${shortHash(specHash, 8)}.`;
  const clean = envName.replace(/[^a-zA-Z0-9_.-]/g, "_").replace(/[^a-zA-Z0-9]+$/, "");
  const tail = clean && head.length + clean.length <= SECRET_NAME_MAX ? clean : shortHash(envName, 12);
  return `${head}${tail}`;
}
