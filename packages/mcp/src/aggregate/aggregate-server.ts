import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, Server } from "@modelcontextprotocol/server";
import { JSONRPC_POLICY_DENIED } from "../jsonrpc.js";
import { aggregatedCall, aggregatedInstanceAllowed } from "../policy/aggregate-policy.js";
import type { PolicyDecision } from "../policy/decisions.js";
import { type McpPrincipal, policyNameOf } from "../principal.js";
import { type Aggregator, policyItem } from "./aggregator.js";
import type { Caller } from "./caller.js";
import { forwardWithRounds, type Rounds } from "./input-rounds.js";
import type { ListKind, Upstream } from "./upstream-pool.js";

type Params = Record<string, unknown> & { _meta?: Record<string, unknown> };

const unknownName = (what: string, name: unknown) =>
  new ProtocolError(ProtocolErrorCode.InvalidParams, `unknown ${what} "${String(name)}" on the aggregated endpoint`);

/** `_meta` keys that pass through to the instance untouched (trace context). */
const PASS_META = ["traceparent", "tracestate", "baggage"];

export function passMeta(params: Params): Record<string, unknown> | undefined {
  const meta = params._meta;
  if (!meta) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of PASS_META) if (k in meta) out[k] = meta[k];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Forwards an instance's failure as the call's own error (the instance's code and message). */
async function upstreamCall<T>(agg: Aggregator, u: Upstream, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === "number") throw new ProtocolError(code, (err as Error).message);
    agg.pool.markStale(u);
    throw new ProtocolError(ProtocolErrorCode.InternalError, `instance "${u.name}" failed: ${(err as Error).message}`);
  }
}

/** What one aggregated server serves with: its era, the input-round machinery, a session's hooks. */
export interface AggregateServerDeps {
  era: "legacy" | "modern";
  rounds: Rounds;
  /**
   * A 2025-era session's resource subscriptions (`uri` as the session wrote it, `target` the instance
   * and its own URI it routes to): true when the instance must be told (first / last).
   */
  subscriptions?: {
    add(uri: string, target: { instance: string; own: string }): boolean;
    remove(uri: string): boolean;
  };
  /** A 2025-era session asked for log messages. */
  onSetLevel?: () => void;
  /** Who calls (the host's principal): lists and calls hold to its policy. */
  principal?: McpPrincipal | undefined;
  /** Where the endpoint reports its policy decisions (the host audits them). */
  record?(decision: PolicyDecision): void;
}

/**
/**
 * One aggregated MCP server (a fresh instance per modern request, one per 2025-era session): tools,
 * resources (and templates), prompts and completion of every running instance, `logging/setLevel`
 * forwarded to all of them, progress, log messages and server-to-client requests of a call
 * forwarded to its caller. Lists show only what the caller's policy permits; a call of anything
 * else is refused with -32003 naming the policy.
 */
export function createAggregateServer(
  agg: Aggregator,
  info: { name: string; version: string },
  deps: AggregateServerDeps,
): Server {
  const { principal } = deps;
  /** Throws the policy's refusal (after recording the decision) unless the item is permitted. */
  const authorize = (
    method: string,
    name: string,
    kind: ListKind,
    route: { u: Upstream; own: string; item?: Record<string, unknown> },
  ) => {
    const { decision, record, refusal } = aggregatedCall(principal, method, name, policyItem(kind, route));
    if (record) deps.record?.(record);
    if (!decision.allowed)
      throw new ProtocolError(JSONRPC_POLICY_DENIED, refusal, {
        policy: policyNameOf(principal),
        reason: decision.reason,
      });
  };
  const server = new Server(info, {
    requestState: { verify: deps.rounds.codec.verify },
    inputRequired: { maxRounds: 8 },
    capabilities: {
      tools: { listChanged: true },
      resources: { listChanged: true, subscribe: true },
      prompts: { listChanged: true },
      completions: {},
      logging: {},
    },
  });
  const timeout = 60_000;
  const caller = (ctx: Caller["ctx"]): Caller => ({ ctx, server, era: deps.era });

  server.setRequestHandler("tools/list", async () => ({ tools: (await agg.list("tools", principal)) as never[] }));
  server.setRequestHandler("prompts/list", async () => ({
    prompts: (await agg.list("prompts", principal)) as never[],
  }));
  server.setRequestHandler("resources/list", async () => ({
    resources: (await agg.list("resources", principal)) as never[],
  }));
  server.setRequestHandler("resources/templates/list", async () => ({
    resourceTemplates: (await agg.list("resourceTemplates", principal)) as never[],
  }));

  server.setRequestHandler("tools/call", async (request, ctx) => {
    const params = request.params as Params;
    const route = await agg.routeName("tools", String(params.name));
    // as the SDK's own servers answer an unknown tool (and so as /mcp/<instance> does): a tool error result
    if (!route) {
      return {
        isError: true,
        content: [{ type: "text", text: `unknown tool "${String(params.name)}" on the aggregated endpoint` }],
      } as never;
    }
    authorize("tools/call", String(params.name), "tools", { u: route.u, own: route.name, item: route.item });
    const progressToken = params._meta?.progressToken;
    const meta = passMeta(params);
    const own = { name: route.name, arguments: params.arguments, ...(meta ? { _meta: meta } : {}) };
    return upstreamCall(agg, route.u, () =>
      forwardWithRounds(deps.rounds, caller(ctx), route.u, String(params.name), "tools/call", own, {
        signal: ctx.mcpReq.signal,
        timeout,
        resetTimeoutOnProgress: true,
        ...(progressToken !== undefined
          ? {
              onprogress: (p: Record<string, unknown>) => {
                void ctx.mcpReq
                  .notify({ method: "notifications/progress", params: { ...p, progressToken } } as never)
                  .catch(() => {});
              },
            }
          : {}),
      } as never),
    ) as never;
  });

  server.setRequestHandler("prompts/get", async (request, ctx) => {
    const params = request.params as Params;
    const route = await agg.routeName("prompts", String(params.name));
    if (!route) throw unknownName("prompt", params.name);
    authorize("prompts/get", String(params.name), "prompts", { u: route.u, own: route.name });
    const own = { name: route.name, ...(params.arguments ? { arguments: params.arguments } : {}) };
    return upstreamCall(agg, route.u, () =>
      forwardWithRounds(deps.rounds, caller(ctx), route.u, String(params.name), "prompts/get", own, {
        signal: ctx.mcpReq.signal,
        timeout,
      }),
    ) as never;
  });

  server.setRequestHandler("resources/read", async (request, ctx) => {
    const params = request.params as Params;
    const route = await agg.routeUri(String(params.uri));
    if (!route) throw new ResourceNotFoundError(String(params.uri));
    authorize("resources/read", String(params.uri), "resources", { u: route.u, own: route.uri });
    const result = await upstreamCall(agg, route.u, () =>
      forwardWithRounds(
        deps.rounds,
        caller(ctx),
        route.u,
        String(params.uri),
        "resources/read",
        { uri: route.uri },
        {
          signal: ctx.mcpReq.signal,
          timeout,
        },
      ),
    );
    return (route.namespaced ? agg.rewriteContents(route.u.name, result) : result) as never;
  });

  // subscriptions are forwarded to the instance; its `resources/updated` reach listen streams (resourceSubscriptions)
  for (const method of ["resources/subscribe", "resources/unsubscribe"] as const) {
    server.setRequestHandler(method, async (request, ctx) => {
      const params = request.params as Params;
      const route = await agg.routeUri(String(params.uri));
      if (!route) throw new ResourceNotFoundError(String(params.uri));
      authorize(method, String(params.uri), "resources", { u: route.u, own: route.uri });
      const caps = route.u.client.getServerCapabilities() as { resources?: { subscribe?: boolean } } | undefined;
      if (!caps?.resources?.subscribe) {
        throw new ProtocolError(
          ProtocolErrorCode.MethodNotFound,
          `instance "${route.u.name}" has no resource subscriptions`,
        );
      }
      const uri = String(params.uri);
      const tell = deps.subscriptions
        ? method === "resources/subscribe"
          ? deps.subscriptions.add(uri, { instance: route.u.name, own: route.uri })
          : deps.subscriptions.remove(uri)
        : true;
      if (!tell) return {};
      const call = method === "resources/subscribe" ? "subscribeResource" : "unsubscribeResource";
      await upstreamCall(agg, route.u, () =>
        route.u.client[call]({ uri: route.uri }, { signal: ctx.mcpReq.signal, timeout: 10_000 }),
      );
      return {};
    });
  }

  server.setRequestHandler("completion/complete", async (request, ctx) => {
    const params = request.params as Params & { ref: Record<string, unknown> };
    const ref = params.ref ?? {};
    let target: { u: Upstream; ref: Record<string, unknown> } | undefined;
    if (ref.type === "ref/prompt") {
      const r = await agg.routeName("prompts", String(ref.name));
      if (r) authorize("completion/complete", String(ref.name), "prompts", { u: r.u, own: r.name });
      if (r) target = { u: r.u, ref: { ...ref, name: r.name } };
    } else if (ref.type === "ref/resource") {
      const r = await agg.routeUri(String(ref.uri));
      if (r) authorize("completion/complete", String(ref.uri), "resources", { u: r.u, own: r.uri });
      if (r) target = { u: r.u, ref: { ...ref, uri: r.uri } };
    }
    if (!target) throw new ProtocolError(ProtocolErrorCode.InvalidParams, "unknown completion reference");
    const t = target;
    return upstreamCall(agg, t.u, () =>
      t.u.client.complete({ ...params, ref: t.ref } as never, { signal: ctx.mcpReq.signal, timeout }),
    ) as never;
  });

  server.setRequestHandler("logging/setLevel", async (request) => {
    const level = (request.params as Params).level;
    deps.onSetLevel?.();
    const ups = (await agg.pool.running()).filter((u) => aggregatedInstanceAllowed(principal, u.instance));
    await Promise.all(
      ups
        .filter((u) => (u.client.getServerCapabilities() as Record<string, unknown> | undefined)?.logging)
        .map((u) => u.client.setLoggingLevel(level as never, { timeout: 10_000 }).catch(() => agg.pool.markStale(u))),
    );
    return {};
  });
  return server;
}
