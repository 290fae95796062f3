import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Fleet, Logger } from "@mcpfleet/core";
import { classifyInboundRequest, createMcpHandler, isLegacyRequest, type Server } from "@modelcontextprotocol/server";
import type { ProxyAgents } from "../gateway/proxy.js";
import { aggregatedCall } from "../policy/aggregate-policy.js";
import { type PolicyDecision, recordDecision } from "../policy/decisions.js";
import { authInfoOf, type McpPrincipal, principalOf, principalOfAuthInfo } from "../principal.js";
import { createAggregateServer } from "./aggregate-server.js";
import { Aggregator, policyItem } from "./aggregator.js";
import { HeldCalls } from "./held-calls.js";
import type { Rounds } from "./input-rounds.js";
import { LegacySessions, type LegacySessionsOptions, type ResourceSubscription } from "./legacy-sessions.js";
import { CallRelay } from "./relay.js";
import type { Message } from "./relay-wire.js";
import { gatewayStateCodec, type RequestStateOptions } from "./request-state.js";
import { sendWebResponse, toWebRequest } from "./web-bridge.js";

export interface AggregateEndpointOptions {
  timeoutMs: number;
  separator?: string;
  listTtlMs?: number;
  bodyLimit: number;
  /** The `requestState` the gateway mints for 2026-07-28 clients (key, lifetime). */
  requestState?: RequestStateOptions;
  /** The 2025-era sessions (idle timeout, limit). */
  sessions?: LegacySessionsOptions;
  /**
   * The gateway's keep-alive agents: with them, a 2025-era session's `tools/call` to a 2025-era
   * streamable HTTP instance is relayed as JSON-RPC (see CallRelay); without, every call goes
   * through the SDK's server and client.
   */
  agents?: ProxyAgents;
}

export interface AggregateEndpoint {
  /** Serves one HTTP request; `body` is the POST body already read and checked. */
  handle(req: IncomingMessage, res: ServerResponse, body?: { raw: Buffer; parsed: unknown }): Promise<void>;
  readonly aggregator: Aggregator;
  /** Open 2025-era sessions. */
  readonly sessionCount: number;
  close(): Promise<void>;
}

/**
 * The aggregated endpoint on the MCP SDK's v2 line, both revisions on one URL: 2026-07-28 requests
 * are served statelessly (any replica serves any request; `subscriptions/listen` streams carry the
 * merged list-changed events), 2025-era clients with sessions (their GET stream carries
 * `list_changed`, resource updates and log messages), routed by the SDK's own classification.
 */
export function aggregateEndpoint(fleet: Fleet, logger: Logger, options: AggregateEndpointOptions): AggregateEndpoint {
  const aggregator = new Aggregator(fleet, logger, options);
  const info = { name: "mcpfleet-gateway", version: "0.1.0" };
  // the HTTP request being served, so the policy's decisions land on it (the host audits them)
  const serving = new AsyncLocalStorage<IncomingMessage>();
  const record = (d: PolicyDecision) => {
    const req = serving.getStore();
    if (req) recordDecision(req, d);
  };
  const rounds: Rounds = { codec: gatewayStateCodec(options.requestState), held: new HeldCalls() };
  const handler = createMcpHandler(
    (ctx: { authInfo?: unknown }) =>
      createAggregateServer(aggregator, info, {
        era: "modern",
        rounds,
        principal: principalOfAuthInfo(ctx.authInfo),
        record,
      }),
    {
      legacy: "reject",
      maxRequestBodySize: options.bodyLimit,
      onerror: (err) => logger.debug({ err: err.message }, "aggregated endpoint: request refused"),
    },
  );
  // how many sessions subscribed to each instance's resource: the instance is told on the first and the last
  const subscribers = new Map<string, number>();
  const target = (t: ResourceSubscription) => `${t.instance}\n${t.own}`;
  const sessions: LegacySessions = new LegacySessions(
    (session) =>
      createAggregateServer(aggregator, info, {
        era: "legacy",
        rounds,
        // a session belongs to the principal that opened it (LegacySessions refuses anyone else)
        principal: principalOfAuthInfo(session.authInfo),
        record,
        onSetLevel: () => sessions.wantsLogs(session.id()),
        subscriptions: {
          add(uri, to) {
            if (session.subscribed.has(uri)) return false;
            session.subscribed.set(uri, to);
            const n = (subscribers.get(target(to)) ?? 0) + 1;
            subscribers.set(target(to), n);
            return n === 1;
          },
          remove(uri) {
            const to = session.subscribed.get(uri);
            if (!to) return false;
            session.subscribed.delete(uri);
            const n = (subscribers.get(target(to)) ?? 1) - 1;
            if (n > 0) subscribers.set(target(to), n);
            else subscribers.delete(target(to));
            return n <= 0;
          },
        },
      }),
    logger,
    { ...options.sessions, bodyLimit: options.bodyLimit },
  );
  const relay = options.agents ? new CallRelay(aggregator, options.agents, logger, record, rounds, info) : undefined;
  /** A POST the relay serves (true: answered): a 2025-era session's, or a 2026-07-28 request's. */
  const relayed = async (req: IncomingMessage, res: ServerResponse, parsed: unknown): Promise<boolean> => {
    if (!relay || req.method !== "POST") return false;
    const sid = req.headers["mcp-session-id"];
    const principal = principalOf(req);
    if (typeof sid !== "string") {
      const capabilities = modernRelayable(req, parsed);
      if (!capabilities) return false;
      const caller = { era: "modern" as const, authInfo: authInfoOf(principal), capabilities };
      return serving.run(req, () => relay.call(res, parsed as Message, caller, principal));
    }
    const session = sessions.lookup(sid, principal?.id ?? "");
    if (!session) return false;
    if (relay.consume(sid, parsed)) {
      res.writeHead(202);
      res.end();
      return true;
    }
    if (!relayableRequest(req, LEGACY_VERSIONS)) return false;
    return serving.run(req, () => relay.call(res, parsed as Message, { era: "legacy", session }, principal));
  };
  const toSessions = (fn: (server: Server) => Promise<void>) =>
    sessions.each((server) => void fn(server).catch(() => {}));
  const offChange = aggregator.pool.onChange((kind) => {
    if (kind === "tools" || kind === "all") {
      handler.notify.toolsChanged();
      toSessions((s) => s.sendToolListChanged());
    }
    if (kind === "prompts" || kind === "all") {
      handler.notify.promptsChanged();
      toSessions((s) => s.sendPromptListChanged());
    }
    if (kind === "resources" || kind === "resourceTemplates" || kind === "all") {
      handler.notify.resourcesChanged();
      toSessions((s) => s.sendResourceListChanged());
    }
  });
  const offUpdated = aggregator.pool.onResourceUpdated((instance, own) => {
    const uri = aggregator.names.uri(instance, own);
    handler.notify.resourceUpdated(uri);
    // to the sessions subscribed to this resource of this instance (the subscribe was the policy's
    // to refuse), in the form each subscribed with: another instance's resource of the same own URI
    // is not theirs
    sessions.each((server, s) => {
      for (const [form, to] of s.subscribed) {
        if (to.instance === instance && to.own === own) void server.sendResourceUpdated({ uri: form }).catch(() => {});
      }
    });
  });
  // an instance's log messages that no call caused: to the sessions that asked for log messages
  const offLog = aggregator.pool.onLog((params) =>
    sessions.each((server, s) => {
      if (s.logging) void server.notification({ method: "notifications/message", params } as never).catch(() => {});
    }),
  );
  return {
    aggregator,
    get sessionCount() {
      return sessions.size;
    },
    async handle(req, res, body) {
      if (body && (await relayed(req, res, body.parsed))) return;
      const authInfo = authInfoOf(principalOf(req));
      // the SDK gets the parsed body (classification, sessions, the modern handler): the request needs no copy of it
      const request = toWebRequest(req, res);
      const response = await serving.run(req, async () => {
        const legacy = await isLegacyRequest(request, body?.parsed, { maxRequestBodySize: options.bodyLimit });
        if (legacy) return sessions.handle(request, body?.parsed, authInfo);
        const parsed = body ? await listenWithinPolicy(aggregator, principalOf(req), body.parsed, record) : undefined;
        return handler.fetch(request, {
          ...(body ? { parsedBody: parsed } : {}),
          ...(authInfo ? { authInfo } : {}),
        });
      });
      await sendWebResponse(res, response, req.method);
    },
    async close() {
      offChange();
      offUpdated();
      offLog();
      rounds.held.close();
      await sessions.closeAll();
      await handler.close();
      await aggregator.close();
    },
  };
}

const LEGACY_VERSIONS = new Set(["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"]);

/** Headers the SDK's transport would accept without a word (anything else is left to it to answer). */
function relayableRequest(req: IncomingMessage, versions: Set<string>): boolean {
  const accept = String(req.headers.accept ?? "");
  const version = req.headers["mcp-protocol-version"];
  const type = String(req.headers["content-type"] ?? "");
  return (
    accept.includes("application/json") &&
    accept.includes("text/event-stream") &&
    type.startsWith("application/json") &&
    (version === undefined || (typeof version === "string" && versions.has(version)))
  );
}

const MODERN_VERSIONS = new Set(["2026-07-28"]);

/**
 * The client capabilities of a 2026-07-28 `tools/call` the relay may serve: one the SDK's own
 * classifier calls modern (envelope and headers agree), with the revision's headers; undefined
 * for anything else (the SDK path answers it).
 */
function modernRelayable(req: IncomingMessage, parsed: unknown): Record<string, unknown> | undefined {
  const m = parsed as { method?: unknown; params?: { _meta?: Record<string, unknown> } } | null;
  if (!m || typeof m !== "object" || Array.isArray(m) || m.method !== "tools/call") return undefined;
  if (req.headers["mcp-protocol-version"] !== "2026-07-28" || !relayableRequest(req, MODERN_VERSIONS)) return undefined;
  const header = (n: string) => (typeof req.headers[n] === "string" ? (req.headers[n] as string) : undefined);
  const outcome = classifyInboundRequest({
    httpMethod: "POST",
    body: parsed,
    protocolVersionHeader: "2026-07-28",
    ...(header("mcp-method") !== undefined ? { mcpMethodHeader: header("mcp-method")! } : {}),
    ...(header("mcp-name") !== undefined ? { mcpNameHeader: header("mcp-name")! } : {}),
  });
  if (outcome.kind !== "modern") return undefined;
  // Mcp-Name must name the tool (the SDK path refuses a missing or different one with -32020)
  const params = m.params as { name?: unknown } | undefined;
  if (typeof params?.name !== "string" || header("mcp-name") !== params.name) return undefined;
  const caps = m.params?._meta?.["io.modelcontextprotocol/clientCapabilities"];
  return caps && typeof caps === "object" && !Array.isArray(caps) ? (caps as Record<string, unknown>) : undefined;
}

type Listen = { method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } };

/**
 * A 2026-07-28 `subscriptions/listen` keeps only the resource URIs whose instance and resource the
 * principal may see (the acknowledgement shows what was honoured): the SDK's listen streams match
 * updates by URI alone.
 */
async function listenWithinPolicy(
  agg: Aggregator,
  principal: McpPrincipal | undefined,
  parsed: unknown,
  record: (d: PolicyDecision) => void,
): Promise<unknown> {
  const m = parsed as Listen | null;
  if (!m || typeof m !== "object" || m.method !== "subscriptions/listen") return parsed;
  const notifications = m.params?.notifications;
  const uris = notifications?.resourceSubscriptions;
  if (!Array.isArray(uris)) return parsed;
  const kept: unknown[] = [];
  for (const uri of uris) {
    // not a string: left for the SDK's validation to refuse
    if (typeof uri !== "string") {
      kept.push(uri);
      continue;
    }
    const route = await agg.routeUri(uri);
    if (!route) continue;
    const call = aggregatedCall(
      principal,
      "subscriptions/listen",
      uri,
      policyItem("resources", { u: route.u, own: route.uri }),
    );
    if (call.record) record(call.record);
    if (call.decision.allowed) kept.push(uri);
  }
  return { ...m, params: { ...m.params, notifications: { ...notifications, resourceSubscriptions: kept } } };
}
