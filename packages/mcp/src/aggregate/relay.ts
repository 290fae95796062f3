import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "@mcpfleet/core";
import { type AuthInfo, ProtocolErrorCode, type Server } from "@modelcontextprotocol/server";
import type { ProxyAgents } from "../gateway/proxy.js";
import { aggregatedCall } from "../policy/aggregate-policy.js";
import type { PolicyDecision } from "../policy/decisions.js";
import type { McpPrincipal } from "../principal.js";
import { passMeta } from "./aggregate-server.js";
import { type Aggregator, policyItem } from "./aggregator.js";
import { CAPABILITY, callerContext, HUMAN_TIMEOUT_MS } from "./caller.js";
import type { Rounds } from "./input-rounds.js";
import { firstRound, HeldRelay, modernAnswer } from "./relay-rounds.js";
import { DownstreamAnswer, type Message, postUpstream, type RelayTarget, readMessages } from "./relay-wire.js";
import type { Upstream } from "./upstream-pool.js";

/** The downstream 2025-era session a relayed call belongs to. */
export interface RelaySession {
  id: string;
  server: Server;
}

/**
 * Who a relayed call is for: a 2025-era session (the instance's requests go to it over the call's
 * stream), or a 2026-07-28 request (its `_meta` client capabilities; the instance's requests make
 * it a held call with input rounds).
 */
export type RelayCaller =
  | { era: "legacy"; session: RelaySession }
  | { era: "modern"; authInfo: AuthInfo | undefined; capabilities: Record<string, unknown> };

interface InFlight {
  cancel(reason: string): void;
}

interface Asked {
  session: string;
  answer(m: Message): void;
  timer: NodeJS.Timeout;
}

const CALL_TIMEOUT_MS = 60_000;

const rpcError = (id: unknown, code: number, message: string): Message =>
  ({ jsonrpc: "2.0", id, error: { code, message } }) as Message;

/**
 * The fast path of `tools/call` on the aggregated endpoint for 2025-era sessions: the request is
 * routed and judged by the policy as the aggregated server does, then relayed as JSON-RPC to the
 * instance in the pool client's own session (its name rewritten, the ids and progress token the
 * relay's own) instead of passing through an SDK server and client with schema validation on each
 * side. Progress and log messages of the call reach the caller, the instance's elicitation,
 * sampling and roots requests go to the caller over its call's stream (when it has the capability)
 * and its answers back to the instance, `notifications/cancelled` reaches the instance. Calls it
 * cannot serve as the SDK path would (an unknown or refused tool, a 2026-07-28 instance whose
 * rounds the SDK's shim runs, an HTTP+SSE instance) are left to that path, before anything is sent.
 */
export class CallRelay {
  private seq = 0;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly asked = new Map<string, Asked>();

  constructor(
    private readonly agg: Aggregator,
    private readonly agents: ProxyAgents,
    private readonly logger: Logger,
    private readonly record: (d: PolicyDecision) => void,
    private readonly rounds: Rounds,
    /** How the gateway names itself on 2026-07-28 results. */
    private readonly serverInfo: { name: string; version: string },
  ) {}

  /**
   * Serves `msg` (a `tools/call` for `caller`) when it can; false (nothing sent, nothing recorded)
   * when the SDK path must serve it.
   */
  async call(
    res: ServerResponse,
    msg: Message,
    caller: RelayCaller,
    principal: McpPrincipal | undefined,
  ): Promise<boolean> {
    const params = callParams(msg, caller.era);
    if (!params) return false;
    const route = await this.agg.routeName("tools", params.name);
    const target = route?.u.relay;
    if (!route || !target || route.u.client.getProtocolEra() !== "legacy" || !target.transport.sessionId) return false;
    const judged = aggregatedCall(
      principal,
      "tools/call",
      params.name,
      policyItem("tools", { u: route.u, own: route.name, item: route.item }),
    );
    if (!judged.decision.allowed) return false;
    if (judged.record) this.record(judged.record);
    const u = route.u;
    const upId = `mcpfleet-${++this.seq}`;
    const token = params._meta?.progressToken;
    const meta: Record<string, unknown> = passMeta(params) ?? {};
    if (token !== undefined) meta.progressToken = upId;
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: upId,
      method: "tools/call",
      params: {
        name: route.name,
        ...(params.arguments !== undefined ? { arguments: params.arguments } : {}),
        ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}),
      },
    });
    const down = new DownstreamAnswer(res);
    const key = caller.era === "legacy" ? `${caller.session.id}\n${String(msg.id)}` : undefined;
    /** Set once a 2026-07-28 caller's call is held (the instance asked for input). */
    let held: HeldRelay | undefined;
    const post = postUpstream(target, this.agents, body, CALL_TIMEOUT_MS);
    let finished = false;
    const asks = new Set<string>();
    const end = () => {
      finished = true;
      clearTimeout(timer);
      if (key) this.inFlight.delete(key);
      for (const a of asks) {
        clearTimeout(this.asked.get(a)?.timer);
        this.asked.delete(a);
      }
    };
    const fail = (code: number, message: string) => {
      if (finished) return;
      end();
      if (held) held.fail(message);
      else down.final(rpcError(msg.id, code, message));
    };
    const cancelUpstream = (reason: string) =>
      void target.transport
        .send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: upId, reason } } as never)
        .catch(() => {});
    let timer = setTimeout(() => timedOut(), CALL_TIMEOUT_MS);
    const timedOut = () => {
      cancelUpstream("timed out on the aggregated endpoint");
      post.abort();
      fail(ProtocolErrorCode.InternalError, `instance "${u.name}" did not answer within ${CALL_TIMEOUT_MS} ms`);
    };
    const cancel = (reason: string) => {
      if (finished) return;
      cancelUpstream(reason);
      post.abort();
      end();
      down.close();
    };
    if (key) this.inFlight.set(key, { cancel });
    // a 2026-07-28 caller cancels by going away (it has no session to send notifications/cancelled on)
    else
      res.once("close", () => {
        if (!res.writableFinished && !held) cancel("the client went away");
      });

    let ures: IncomingMessage;
    try {
      ures = await post.response;
    } catch (err) {
      if (!finished) this.agg.pool.markStale(u);
      fail(ProtocolErrorCode.InternalError, `instance "${u.name}" failed: ${(err as Error).message}`);
      return true;
    }
    const status = ures.statusCode ?? 502;
    if (status === 404 || status >= 300) {
      ures.resume();
      this.agg.pool.markStale(u);
      fail(ProtocolErrorCode.InternalError, `instance "${u.name}" failed: HTTP ${status}`);
      return true;
    }
    const onMessage = (m: Message) => {
      if (finished) return;
      if (m.method === undefined) {
        if (m.id === upId) {
          end();
          if (held) held.settle(m);
          else if (caller.era === "modern") down.final(modernAnswer({ ...m, id: msg.id as string }, this.serverInfo));
          else down.final({ ...m, id: msg.id as string });
        }
        return;
      }
      if (m.id !== undefined && caller.era === "legacy") {
        return this.serverRequest(m, u, target, caller.session, down, asks);
      }
      if (m.id !== undefined && caller.era === "modern") {
        const reply = this.replier(m, u, target);
        if (!this.permitted(m, caller.capabilities, down, reply)) return;
        const first = !held;
        held ??= new HeldRelay(this.rounds);
        held.request(m.method, (m.params ?? {}) as Record<string, unknown>).then(
          (result) => reply({ result: result ?? {} }),
          (err: Error) => reply({ error: { code: ProtocolErrorCode.InternalError, message: err.message } }),
        );
        if (first) {
          const h = held;
          firstRound(this.rounds, h, u.name, params.name, caller.authInfo).then(
            (result) => down.final(modernAnswer({ jsonrpc: "2.0", id: msg.id as string, result }, this.serverInfo)),
            (err: Error) => down.final(rpcError(msg.id, ProtocolErrorCode.InvalidParams, err.message)),
          );
        }
        return;
      }
      if (m.method === "notifications/progress") {
        const p = (m.params ?? {}) as Record<string, unknown>;
        if (p.progressToken !== upId) return;
        clearTimeout(timer);
        timer = setTimeout(() => timedOut(), CALL_TIMEOUT_MS);
        // a held call reports to nobody (its caller's request has its answer)
        if (!held) down.event({ ...m, params: { ...p, progressToken: token } });
        return;
      }
      if (m.method === "notifications/message") {
        // a 2026-07-28 caller asks for log messages per request (`_meta` logLevel: the SDK path's)
        if (caller.era === "modern") return;
        const p = (m.params ?? {}) as Record<string, unknown>;
        const logger = typeof p.logger === "string" ? `${u.name}/${p.logger}` : u.name;
        down.event({ ...m, params: { ...p, logger } });
        return;
      }
      // anything else (list changes, resource updates) is the pool client's to handle, as if it came on its stream
      callerContext.exit(() => target.transport.onmessage?.(m as never));
    };
    readMessages(ures, onMessage).then(
      () => fail(ProtocolErrorCode.InternalError, `instance "${u.name}" ended the call's stream without an answer`),
      (err: Error) => {
        this.agg.pool.markStale(u);
        fail(ProtocolErrorCode.InternalError, `instance "${u.name}" failed: ${err.message}`);
      },
    );
    return true;
  }

  /**
   * A POST on `sessionId` that answers a server-to-client request the relay passed on, or cancels a
   * call it relays: handled here (true), never reaching the session's SDK transport.
   */
  consume(sessionId: string, msg: unknown): boolean {
    if (!msg || typeof msg !== "object" || Array.isArray(msg)) return false;
    const m = msg as Message;
    if (m.method === undefined && (typeof m.id === "string" || typeof m.id === "number")) {
      const asked = this.asked.get(String(m.id));
      if (!asked || asked.session !== sessionId) return false;
      this.asked.delete(String(m.id));
      asked.answer(m);
      return true;
    }
    if (m.method === "notifications/cancelled") {
      const requestId = (m.params as { requestId?: unknown } | undefined)?.requestId;
      const call = this.inFlight.get(`${sessionId}\n${String(requestId)}`);
      if (!call) return false;
      const reason = (m.params as { reason?: unknown }).reason;
      call.cancel(typeof reason === "string" ? reason : "cancelled by the client");
      return true;
    }
    return false;
  }

  /** Answers an instance's request `m` in the pool client's session. */
  private replier(m: Message, u: Upstream, target: RelayTarget) {
    return (answer: Record<string, unknown>) =>
      void target.transport.send({ jsonrpc: "2.0", id: m.id, ...answer } as never).catch((err: Error) => {
        this.logger.debug({ instance: u.name, err: err.message }, "aggregated relay: answer to instance failed");
      });
  }

  /** Whether the caller can be asked `m` (a bridged method, a capability it declared); refused at the instance if not. */
  private permitted(
    m: Message,
    caps: Record<string, unknown> | undefined,
    down: DownstreamAnswer,
    reply: (answer: Record<string, unknown>) => void,
  ): boolean {
    const capability = CAPABILITY[m.method!];
    if (!capability) {
      reply({ error: { code: ProtocolErrorCode.MethodNotFound, message: `${m.method} is not bridged` } });
      return false;
    }
    if (!caps?.[capability] || down.gone) {
      reply({
        error: {
          code: ProtocolErrorCode.InvalidRequest,
          message: `the client on the aggregated endpoint does not support ${capability}`,
        },
      });
      return false;
    }
    return true;
  }

  /** An instance's request during a 2025-era session's call: to the caller over the call's stream, its answer back. */
  private serverRequest(
    m: Message,
    u: Upstream,
    target: RelayTarget,
    session: RelaySession,
    down: DownstreamAnswer,
    asks: Set<string>,
  ): void {
    const reply = this.replier(m, u, target);
    const caps = session.server.getClientCapabilities() as Record<string, unknown> | undefined;
    if (!this.permitted(m, caps, down, reply)) return;
    const askId = `mcpfleet-ask-${++this.seq}`;
    asks.add(askId);
    const timer = setTimeout(() => {
      this.asked.delete(askId);
      reply({ error: { code: ProtocolErrorCode.InternalError, message: "the client did not answer in time" } });
    }, HUMAN_TIMEOUT_MS);
    timer.unref();
    this.asked.set(askId, {
      session: session.id,
      timer,
      answer: (a) => {
        clearTimeout(timer);
        reply(a.error !== undefined ? { error: a.error } : { result: a.result ?? {} });
      },
    });
    down.event({ ...m, id: askId });
  }
}

type CallParams = { name: string; arguments?: unknown; _meta?: Record<string, unknown> };

/** The `_meta` envelope keys of a 2026-07-28 request the relay understands (any other is the SDK path's). */
const ENVELOPE = new Set([
  "io.modelcontextprotocol/protocolVersion",
  "io.modelcontextprotocol/clientCapabilities",
  "io.modelcontextprotocol/clientInfo",
]);

/** The params of a well-formed `tools/call` request (anything else is the SDK path's to judge). */
function callParams(msg: Message, era: "legacy" | "modern"): CallParams | undefined {
  if (msg.jsonrpc !== "2.0" || msg.method !== "tools/call") return undefined;
  if (typeof msg.id !== "string" && typeof msg.id !== "number") return undefined;
  const p = msg.params as Record<string, unknown> | undefined;
  if (!p || typeof p !== "object" || Array.isArray(p) || typeof p.name !== "string") return undefined;
  const plain = (v: unknown) => v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v));
  if (!plain(p.arguments) || !plain(p._meta)) return undefined;
  const meta = p._meta as Record<string, unknown> | undefined;
  // a retried input round or a task-augmented call: the SDK path's
  if (p.requestState !== undefined || p.inputResponses !== undefined || p.task !== undefined) return undefined;
  const known = (k: string) => era === "modern" && ENVELOPE.has(k);
  if (meta && Object.keys(meta).some((k) => k.startsWith("io.modelcontextprotocol/") && !known(k))) return undefined;
  return p as CallParams;
}
