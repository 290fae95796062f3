import { type AuthInfo, inputRequired, ProtocolError } from "@modelcontextprotocol/server";
import type { Rounds } from "./input-rounds.js";
import type { Message } from "./relay-wire.js";

/**
 * A relayed call of a 2026-07-28 caller whose 2025-era instance asked for client input: from its
 * first server-to-client request on, the call is held (as the SDK path holds it, in the same
 * {@link Rounds}): the caller gets an `input_required` result with a sealed `requestState`, its
 * retry (served by the SDK path) answers the request and waits for the next step, and the relay
 * hands each further request and, at the end, the instance's answer to the held call.
 */
export class HeldRelay {
  private ask?: (method: string, params: Record<string, unknown>) => Promise<unknown>;
  private resolve?: (value: unknown) => void;
  private reject?: (err: Error) => void;
  readonly id: string;

  constructor(rounds: Rounds) {
    const outcome = new Promise<unknown>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.id = rounds.held.start((ask) => {
      this.ask = ask;
      return outcome;
    });
  }

  /** Passes an instance's request on as the held call's next input round; resolves with the client's answer. */
  request(method: string, params: Record<string, unknown>): Promise<unknown> {
    return this.ask!(method, params);
  }

  /** The instance's answer to the call: the held call's outcome. */
  settle(m: Message): void {
    const error = m.error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
    if (error) {
      const code = typeof error.code === "number" ? error.code : -32603;
      this.reject!(new ProtocolError(code, String(error.message ?? "the instance failed"), error.data));
    } else this.resolve!(m.result ?? {});
  }

  /** The call failed before an answer (the instance's stream broke, the timeout). */
  fail(message: string): void {
    this.reject!(new ProtocolError(-32603, message));
  }
}

/**
 * The first `input_required` answer of a call that became held: the request the instance made,
 * keyed, with the gateway's sealed state naming the held call (bound to the principal and method,
 * as the SDK path mints it).
 */
export async function firstRound(
  rounds: Rounds,
  held: HeldRelay,
  instance: string,
  target: string,
  authInfo: AuthInfo | undefined,
): Promise<Record<string, unknown>> {
  const step = await rounds.held.step<unknown>(held.id);
  if (step.done) return step.value as Record<string, unknown>;
  const ctx = { mcpReq: { method: "tools/call" }, http: authInfo ? { authInfo } : {} };
  const { key, method, params } = step.request;
  return inputRequired({
    inputRequests: { [key]: { method, params } } as never,
    requestState: await rounds.codec.mint({ instance, target, held: held.id }, ctx as never),
  }) as never;
}

/** The `_meta` key under which a 2026-07-28 server names itself on every result. */
const SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo";
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A 2025-era instance's `tools/call` answer as the SDK path encodes it for a 2026-07-28 caller: a
 * result gets `content: []` when it has none, `resultType: "complete"`, and the gateway's identity
 * in `_meta`; an error's `-32002` becomes `-32602`, as the revision requires.
 */
export function modernAnswer(m: Message, serverInfo: { name: string; version: string }): Message {
  if (isPlain(m.error)) {
    return m.error.code === -32002 ? { ...m, error: { ...m.error, code: -32602 } } : m;
  }
  let result: Record<string, unknown> = isPlain(m.result) ? m.result : {};
  const foreign = ["task", "inputRequests", "requestState"].some((k) => k in result);
  if (result.content === undefined && !foreign) result = { ...result, content: [] };
  if (result.resultType === undefined) result = { ...result, resultType: "complete" };
  const meta = result._meta;
  if (meta === undefined) result = { ...result, _meta: { [SERVER_INFO_META_KEY]: serverInfo } };
  else if (isPlain(meta) && meta[SERVER_INFO_META_KEY] === undefined) {
    result = { ...result, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
  }
  return { ...m, result };
}
