import { createHash } from "node:crypto";

export const MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGER = "mcpfleet";
export const FIELD_MANAGER = "mcpfleet";
export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_INSTANCE = "app.kubernetes.io/instance";
export const LABEL_INSTANCE_ID = "mcpfleet.instance-id";
export const LABEL_SPEC_HASH = "mcpfleet.spec-hash";
export const ANN_INSTANCE_ID = "mcpfleet.io/instance-id";
export const ANN_SPEC_HASH = "mcpfleet.io/spec-hash";
export const ANN_GENERATION = "mcpfleet.io/generation";
export const ANN_TRANSPORT = "mcpfleet.io/transport";
export const CONTAINER = "mcp";

const short = (s: string, n: number) => createHash("sha256").update(s).digest("hex").slice(0, n);

/**
 * Deterministic object name for an instance id: `mcp-<id>` when that is a valid DNS-1035 label,
 * otherwise a sanitized prefix plus a hash of the id (so distinct ids never collide).
 */
export function objectName(instanceId: string): string {
  const plain = `mcp-${instanceId}`;
  if (/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(plain) && plain.length <= 63) return plain;
  const cleaned = instanceId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 44)
    .replace(/-+$/, "");
  return `mcp-${cleaned ? `${cleaned}-` : ""}${short(instanceId, 10)}`;
}

/** A label value (max 63, alnum at the ends); long or odd values keep a hash suffix. */
export function labelValue(value: string): string {
  if (/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value) && value.length <= 63) return value;
  const cleaned = value
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .slice(0, 50)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return `${cleaned ? `${cleaned}-` : ""}${short(value, 12)}`;
}

export function isLabelKey(key: string): boolean {
  const parts = key.split("/");
  if (parts.length > 2) return false;
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  if (prefix !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix))
    return false;
  if (prefix !== undefined && prefix.length > 253) return false;
  return name.length > 0 && name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name);
}

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value);
}

/** Selector labels (stable for the life of the instance). */
export function selectorLabels(instanceId: string): Record<string, string> {
  return {
    [LABEL_INSTANCE]: objectName(instanceId),
    [LABEL_INSTANCE_ID]: labelValue(instanceId),
    [MANAGED_BY]: MANAGER,
  };
}

export const managedSelector = `${MANAGED_BY}=${MANAGER}`;

export function instanceSelector(instanceId: string): string {
  return `${MANAGED_BY}=${MANAGER},${LABEL_INSTANCE_ID}=${labelValue(instanceId)}`;
}
