import type { Instance } from "@mcpfleet/core";
import { type McpPrincipal, policyNameOf } from "../principal.js";
import type { PolicyDecision } from "./decisions.js";
import {
  callDecision,
  type Decision,
  type ItemKind,
  instanceDecision,
  instanceFacts,
  itemDecision,
} from "./evaluate.js";

type InstanceLike = Pick<Instance, "id" | "name" | "server_spec_id" | "json_spec">;

/** One item of the aggregated endpoint: the instance it routes to and its own (upstream) name or URI. */
export interface AggregatedItem {
  kind: ItemKind;
  instance: InstanceLike;
  /** The upstream tool or prompt name, or resource URI / URI template. */
  own: string;
  /** Tools: the upstream `readOnlyHint` annotation, when known. */
  readOnlyHint?: boolean | undefined;
}

/**
 * The policy of the aggregated endpoint, independent of how the endpoint is built: whether a
 * principal may see and use one aggregated item (the instance spec's tool filter, then the
 * principal's policy, on the upstream name).
 */
export function aggregatedDecision(principal: McpPrincipal | undefined, entry: AggregatedItem): Decision {
  const facts = instanceFacts(entry.instance);
  const policy = principal?.policy;
  if (!policy && !facts.tools) return { allowed: true, reason: "allowed" };
  return entry.kind === "tool"
    ? callDecision(policy, facts, entry.own, entry.readOnlyHint)
    : itemDecision(policy, facts, entry.kind, entry.own);
}

/** Whether the principal may reach the instance at all (fan-out calls such as `logging/setLevel`). */
export function aggregatedInstanceAllowed(principal: McpPrincipal | undefined, instance: InstanceLike): boolean {
  return !principal?.policy || instanceDecision(principal.policy, instanceFacts(instance)).allowed;
}

/**
 * Decides one call of the aggregated endpoint (`tools/call`, `prompts/get`, `resources/read`, ...):
 * returns the decision and, when it is worth auditing (a policy applied or something was refused),
 * the record to audit. `refusal` is the JSON-RPC error message naming the policy.
 */
export function aggregatedCall(
  principal: McpPrincipal | undefined,
  method: string,
  aggregatedName: string,
  entry: AggregatedItem,
): { decision: Decision; record?: PolicyDecision; refusal: string } {
  const decision = aggregatedDecision(principal, entry);
  const policy = policyNameOf(principal);
  const audited = principal?.policy !== undefined || !decision.allowed;
  return {
    decision,
    ...(audited
      ? {
          record: {
            instance: entry.instance.name,
            method,
            item: aggregatedName,
            allowed: decision.allowed,
            reason: decision.reason,
            policy,
          },
        }
      : {}),
    refusal: `${method} of "${aggregatedName}" refused by policy "${policy}": ${decision.reason}`,
  };
}
