import type { IncomingMessage, ServerResponse } from "node:http";
import type { Instance } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { sendJson } from "../bridge/http-util.js";
import { JSONRPC_POLICY_DENIED, type JsonRpcId, type JsonRpcMessage } from "../jsonrpc.js";
import { recordDecision } from "../policy/decisions.js";
import {
  filtersLists,
  type InstanceFacts,
  instanceDecision,
  instanceFacts,
  requestDecision,
} from "../policy/evaluate.js";
import { filterListResult, isFilteredList } from "../policy/list-filter.js";
import type { AccessPolicy } from "../policy/policy-schema.js";
import { policyNameOf, principalOf } from "../principal.js";

/** How the proxy rewrites the list results of one request. */
export interface ListRewrite {
  pending: Map<JsonRpcId, string>;
  rewrite: (method: string, result: unknown) => unknown;
}

const MAX_HINTS = 50_000;

/**
 * The policy of the per-instance route: refuses the instance or single calls (a JSON-RPC error
 * naming the policy) and tells the proxy which list results to filter. Remembers the tools'
 * `readOnlyHint` seen in lists, for read-only policies (a tool never listed here counts as writing).
 */
export class InstancePolicy {
  private hints = new Map<string, boolean | undefined>();

  /**
   * Returns "refused" when it answered the request itself; else the list rewrite to apply (if any).
   * `deliver` puts the refusal on the session's legacy SSE stream, where the client waits for its
   * answers (false when that stream is not held here: the refusal is then the POST's body).
   */
  check(
    req: IncomingMessage,
    res: ServerResponse,
    instance: Instance,
    body: { parsed: unknown; messages: JsonRpcMessage[] } | undefined,
    deliver?: (message: unknown) => boolean,
  ): "refused" | ListRewrite | undefined {
    const messages = body?.messages;
    const principal = principalOf(req);
    const policy = principal?.policy;
    const facts = instanceFacts(instance);
    if (!policy && !facts.tools) return undefined;
    const name = policyNameOf(principal);
    const access = instanceDecision(policy, facts);
    if (!access.allowed) {
      recordDecision(req, { instance: instance.name, method: null, item: null, policy: name, ...access });
      throw new FleetError("FORBIDDEN", `policy "${name}" refuses instance ${instance.name}: ${access.reason}`);
    }
    const requests = (messages ?? []).filter(
      (m) => typeof m.method === "string" && m.id !== undefined && m.id !== null,
    );
    const refusals: JsonRpcMessage[] = [];
    for (const m of requests) {
      const d = requestDecision(policy, facts, m.method!, m.params, (tool) =>
        this.hints.get(`${instance.id}\0${tool}`),
      );
      if (d.item)
        recordDecision(req, {
          instance: instance.name,
          method: m.method!,
          item: d.item.name,
          allowed: d.allowed,
          reason: d.reason,
          policy: name,
        });
      if (!d.allowed)
        refusals.push({
          jsonrpc: "2.0",
          id: m.id!,
          error: {
            code: JSONRPC_POLICY_DENIED,
            message: `${m.method} of "${d.item?.name ?? ""}" refused by policy "${name}": ${d.reason}`,
            data: { policy: name, reason: d.reason },
          },
        });
    }
    if (refusals.length > 0) {
      // a batch with a refused call is refused whole: nothing of it reaches the instance
      const refusedIds = new Set(refusals.map((r) => r.id));
      const others = requests
        .filter((m) => !refusedIds.has(m.id!))
        .map((m) => ({
          jsonrpc: "2.0" as const,
          id: m.id!,
          error: { code: JSONRPC_POLICY_DENIED, message: `batch refused by policy "${name}"` },
        }));
      req.resume();
      const answer = Array.isArray(body?.parsed) ? [...refusals, ...others] : refusals[0];
      if (deliver?.(answer)) {
        res.writeHead(202, { "content-type": "text/plain" }).end("Accepted");
      } else sendJson(res, 200, answer);
      return "refused";
    }
    if (!filtersLists(policy, facts)) return undefined;
    const pending = new Map<JsonRpcId, string>();
    for (const m of requests) if (isFilteredList(m.method!)) pending.set(m.id!, m.method!);
    if (pending.size === 0) return undefined;
    return { pending, rewrite: this.rewriter(instance, policy, facts) };
  }

  /**
   * The list filter of a legacy SSE stream, whose answers arrive on it whatever POST asked (undefined
   * when nothing is filtered for this principal on this instance). The instance check is `check`'s.
   */
  streamRewrite(req: IncomingMessage, instance: Instance): ListRewrite["rewrite"] | undefined {
    const policy = principalOf(req)?.policy;
    const facts = instanceFacts(instance);
    return filtersLists(policy, facts) ? this.rewriter(instance, policy, facts) : undefined;
  }

  private rewriter(instance: Instance, policy: AccessPolicy | undefined, facts: InstanceFacts): ListRewrite["rewrite"] {
    return (method, result) =>
      filterListResult(method, result, policy, facts, (t) => {
        if (this.hints.size >= MAX_HINTS) this.hints.clear();
        this.hints.set(`${instance.id}\0${t.name}`, t.readOnlyHint);
      });
  }

  clear(): void {
    this.hints.clear();
  }
}
