import type { Instance } from "@mcpfleet/core";
import picomatch from "picomatch";
import type { AccessPolicy, NameFilter } from "./policy-schema.js";

/** What the policy looks at of an instance. */
export interface InstanceFacts {
  id: string;
  name: string;
  labels: Record<string, string>;
  serverId: string | null;
  /** The instance spec's own tool filter (`json_spec.tools`): applies to every principal. */
  tools?: NameFilter;
}

export interface Decision {
  allowed: boolean;
  /** Why (names the rule that decided). */
  reason: string;
}

export type ItemKind = "tool" | "prompt" | "resource";

const ALLOW: Decision = { allowed: true, reason: "allowed" };

/** Reads the facts off a stored instance (labels and the tool filter from its `json_spec`). */
export function instanceFacts(instance: Pick<Instance, "id" | "name" | "server_spec_id" | "json_spec">): InstanceFacts {
  const spec = instance.json_spec as { labels?: unknown; tools?: unknown };
  const labels: Record<string, string> = {};
  if (spec.labels && typeof spec.labels === "object" && !Array.isArray(spec.labels)) {
    for (const [k, v] of Object.entries(spec.labels)) if (typeof v === "string") labels[k] = v;
  }
  const t = spec.tools as { allow?: unknown; deny?: unknown } | undefined;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : undefined);
  const tools: NameFilter | undefined =
    t && typeof t === "object"
      ? {
          ...(list(t.allow) ? { allow: list(t.allow)! } : {}),
          ...(list(t.deny) ? { deny: list(t.deny)! } : {}),
        }
      : undefined;
  return {
    id: instance.id,
    name: instance.name,
    labels,
    serverId: instance.server_spec_id ?? null,
    ...(tools ? { tools } : {}),
  };
}

const compiled = new WeakMap<readonly string[], (s: string) => boolean>();
function matcher(globs: readonly string[]): (s: string) => boolean {
  let m = compiled.get(globs);
  if (!m) {
    m = globs.length === 0 ? () => false : picomatch(globs as string[], { dot: true, nobrace: false });
    compiled.set(globs, m);
  }
  return m;
}

function filterDecision(filter: NameFilter | undefined, name: string, kind: ItemKind, by: string): Decision {
  if (!filter) return ALLOW;
  if (filter.deny && matcher(filter.deny)(name)) return { allowed: false, reason: `${kind} denied by ${by}` };
  if (filter.allow && !matcher(filter.allow)(name))
    return { allowed: false, reason: `${kind} not in the allow list of ${by}` };
  return ALLOW;
}

/** May the principal reach this instance at all? */
export function instanceDecision(policy: AccessPolicy | undefined, inst: InstanceFacts): Decision {
  const rule = policy?.instances;
  if (!rule) return ALLOW;
  if (rule.names && !matcher(rule.names)(inst.name) && !matcher(rule.names)(inst.id))
    return { allowed: false, reason: "instance name not permitted by the policy" };
  if (rule.labels) {
    for (const [k, v] of Object.entries(rule.labels))
      if (inst.labels[k] !== v) return { allowed: false, reason: `instance lacks label ${k}=${v} the policy requires` };
  }
  if (rule.servers && (inst.serverId === null || !matcher(rule.servers)(inst.serverId)))
    return { allowed: false, reason: "instance's server not permitted by the policy" };
  return ALLOW;
}

/**
 * May the principal see (list) this tool, prompt or resource of the instance? The instance's own
 * tool filter applies first, then the policy's filter of that kind.
 */
export function itemDecision(
  policy: AccessPolicy | undefined,
  inst: InstanceFacts,
  kind: ItemKind,
  name: string,
): Decision {
  const onInstance = instanceDecision(policy, inst);
  if (!onInstance.allowed) return onInstance;
  if (kind === "tool") {
    const spec = filterDecision(inst.tools, name, kind, "the instance's tool filter");
    if (!spec.allowed) return spec;
  }
  const filter = kind === "tool" ? policy?.tools : kind === "prompt" ? policy?.prompts : policy?.resources;
  return filterDecision(filter, name, kind, "the policy");
}

/** May the principal call this tool? `readOnlyHint` is the tool's annotation, when known. */
export function callDecision(
  policy: AccessPolicy | undefined,
  inst: InstanceFacts,
  tool: string,
  readOnlyHint: boolean | undefined,
): Decision {
  const seen = itemDecision(policy, inst, "tool", tool);
  if (!seen.allowed) return seen;
  if (policy?.read_only && readOnlyHint !== true)
    return { allowed: false, reason: "read-only policy: the tool is not annotated readOnlyHint" };
  return ALLOW;
}

/** The item a JSON-RPC request names, for the methods the policy governs. */
export function governedItem(
  method: string,
  params: Record<string, unknown> | undefined,
): { kind: ItemKind; name: string } | undefined {
  const p = params ?? {};
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  switch (method) {
    case "tools/call":
      return { kind: "tool", name: str(p.name) };
    case "prompts/get":
      return { kind: "prompt", name: str(p.name) };
    case "resources/read":
    case "resources/subscribe":
    case "resources/unsubscribe":
      return { kind: "resource", name: str(p.uri) };
    case "completion/complete": {
      const ref = (typeof p.ref === "object" && p.ref !== null ? p.ref : {}) as Record<string, unknown>;
      if (ref.type === "ref/prompt") return { kind: "prompt", name: str(ref.name) };
      return { kind: "resource", name: str(ref.uri) };
    }
    default:
      return undefined;
  }
}

/**
 * The decision on one JSON-RPC request to an instance: governed methods check their item (a call
 * also the read-only rule); every other method (initialize, ping, lists — filtered on the way
 * back) only needs access to the instance.
 */
export function requestDecision(
  policy: AccessPolicy | undefined,
  inst: InstanceFacts,
  method: string,
  params: Record<string, unknown> | undefined,
  readOnlyHint?: (tool: string) => boolean | undefined,
): Decision & { item?: { kind: ItemKind; name: string } } {
  const item = governedItem(method, params);
  if (!item) return instanceDecision(policy, inst);
  const d =
    item.kind === "tool"
      ? callDecision(policy, inst, item.name, readOnlyHint?.(item.name))
      : itemDecision(policy, inst, item.kind, item.name);
  return { ...d, item };
}

/** Whether anything would be filtered for this principal on this instance (else lists pass untouched). */
export function filtersLists(policy: AccessPolicy | undefined, inst: InstanceFacts): boolean {
  return !!(inst.tools || policy?.tools || policy?.prompts || policy?.resources || policy?.read_only);
}
