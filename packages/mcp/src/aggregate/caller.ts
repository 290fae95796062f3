import { AsyncLocalStorage } from "node:async_hooks";
import type { Client } from "@modelcontextprotocol/client";
import { ProtocolError, ProtocolErrorCode, type Server, type ServerContext } from "@modelcontextprotocol/server";

/** The downstream request an upstream call is made for: its context, its server and its era. */
export interface Caller {
  ctx: ServerContext;
  server: Server;
  era: "legacy" | "modern";
  /** For a call held for a 2026-07-28 client: turns a server-to-client request into an input round. */
  ask?: (method: string, params: Record<string, unknown>) => Promise<unknown>;
}

/**
 * Which downstream request an upstream call runs for. An upstream's server-to-client requests and
 * notifications that relate to a call arrive on that call's response stream, so inside its async
 * context: they reach the client that caused them, never another session.
 */
export const callerContext = new AsyncLocalStorage<Caller>();

/** The calls in flight on each upstream client (for its server-to-client requests that name no call). */
const inFlight = new WeakMap<Client, Set<Caller>>();

/**
 * Runs an upstream call as made for `caller` (its related requests and notifications go back there),
 * counted as in flight on `upstream` while it runs.
 */
export async function asCaller<T>(caller: Caller, fn: () => Promise<T>, upstream?: Client): Promise<T> {
  if (!upstream) return callerContext.run(caller, fn);
  const calls = inFlight.get(upstream) ?? new Set<Caller>();
  inFlight.set(upstream, calls);
  calls.add(caller);
  try {
    return await callerContext.run(caller, fn);
  } finally {
    calls.delete(caller);
  }
}

/**
 * The caller of a server-to-client request on a legacy HTTP+SSE instance: its one stream carries
 * everything, so nothing on the wire tells which call a request belongs to. It is the only call in
 * flight on that instance, or nobody (several: which one caused it cannot be told, so none is asked).
 * (A request that arrives before any call, such as server-everything's `roots/list` right after
 * `initialize`, finds nobody and is refused.)
 */
function soleCaller(upstream: Client): Caller | undefined {
  const calls = inFlight.get(upstream);
  return calls?.size === 1 ? calls.values().next().value : undefined;
}

/** How long a human may take to answer an elicitation forwarded from an instance. */
export const HUMAN_TIMEOUT_MS = 600_000;

/** The client capability each server-to-client request an instance may make needs. */
export const CAPABILITY: Record<string, "elicitation" | "sampling" | "roots"> = {
  "elicitation/create": "elicitation",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

/**
 * Forwards an upstream's server-to-client requests (elicitation, sampling, roots) to the downstream
 * client whose call caused them: over its session (2025-era clients) or as an input round of a held
 * call (2026-07-28 clients). A request no call caused, or whose caller lacks the capability, is refused.
 * `singleStream`: a legacy HTTP+SSE instance, whose requests are attributed by {@link soleCaller}.
 */
export function bridgeServerRequests(client: Client, instance: string, singleStream = false): void {
  for (const method of Object.keys(CAPABILITY) as Array<keyof typeof CAPABILITY>) {
    client.setRequestHandler(method as "elicitation/create", async (request) => {
      const caller = callerContext.getStore() ?? (singleStream ? soleCaller(client) : undefined);
      if (!caller) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `${method} from instance "${instance}" relates to no single call on the aggregated endpoint`,
        );
      }
      const params = (request.params ?? {}) as Record<string, unknown>;
      if (caller.era === "modern") {
        if (caller.ask) return caller.ask(method, params) as never;
        throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `${method} is not bridged to this client`);
      }
      const caps = caller.server.getClientCapabilities() as Record<string, unknown> | undefined;
      if (!caps?.[CAPABILITY[method]!]) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `the client on the aggregated endpoint does not support ${CAPABILITY[method]}`,
        );
      }
      return caller.ctx.mcpReq.send({ method, params } as never, {
        timeout: HUMAN_TIMEOUT_MS,
        resetTimeoutOnProgress: true,
      }) as never;
    });
  }
}

/**
 * Forwards an upstream's log messages: one that relates to a call goes to that call's client (its
 * logger named `<instance>`), any other to `unrelated`.
 */
export function bridgeLogging(
  client: Client,
  instance: string,
  unrelated: (params: Record<string, unknown>) => void,
): void {
  client.setNotificationHandler("notifications/message", (n) => {
    const p = (n.params ?? {}) as Record<string, unknown>;
    const params = { ...p, logger: typeof p.logger === "string" ? `${instance}/${p.logger}` : instance };
    const caller = callerContext.getStore();
    if (!caller) return unrelated(params);
    void caller.ctx.mcpReq.notify({ method: "notifications/message", params } as never).catch(() => {});
  });
}
