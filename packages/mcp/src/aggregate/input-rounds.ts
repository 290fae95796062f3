import { isInputRequiredResult } from "@modelcontextprotocol/client";
import {
  inputRequired,
  ProtocolError,
  ProtocolErrorCode,
  type RequestOptions,
  type RequestStateCodec,
} from "@modelcontextprotocol/server";
import { asCaller, type Caller } from "./caller.js";
import type { HeldCalls } from "./held-calls.js";
import type { GatewayState } from "./request-state.js";
import type { Upstream } from "./upstream-pool.js";

export interface Rounds {
  codec: RequestStateCodec<GatewayState>;
  held: HeldCalls;
}

type Method = "tools/call" | "prompts/get" | "resources/read";

const mismatch = () => new ProtocolError(ProtocolErrorCode.InvalidParams, "the requestState belongs to another call");

/**
 * Forwards a call that may need client input, across both revisions:
 * - a modern instance's `input_required` result goes to the client with the instance's state sealed
 *   in the gateway's own (2026-07-28 clients fulfil it; for 2025-era sessions the SDK's legacy shim
 *   asks the client over the session and re-enters, bounded by its rounds limit);
 * - a legacy instance's server-to-client request reaches a 2025-era caller over its session, and a
 *   2026-07-28 caller as an `input_required` round of a call the gateway holds open.
 */
export async function forwardWithRounds(
  rounds: Rounds,
  caller: Caller,
  u: Upstream,
  target: string,
  method: Method,
  params: Record<string, unknown>,
  options: RequestOptions,
): Promise<Record<string, unknown>> {
  const { ctx } = caller;
  const state = ctx.mcpReq.requestState<GatewayState>();
  if (state !== undefined && (typeof state !== "object" || state.instance !== u.name || state.target !== target)) {
    throw mismatch();
  }
  const responses = ctx.mcpReq.inputResponses;
  const call = (extra: Record<string, unknown>, opts: RequestOptions) =>
    u.client.request({ method, params: { ...params, ...extra } } as never, opts as never) as Promise<
      Record<string, unknown>
    >;

  if (state?.held) return heldStep(rounds, ctx, u, target, state.held, responses);

  if (u.client.getProtocolEra() === "modern") {
    const extra = {
      ...(responses ? { inputResponses: responses } : {}),
      ...(state?.upstream !== undefined ? { requestState: state.upstream } : {}),
    };
    const result = await asCaller(
      caller,
      () => call(extra, { ...options, allowInputRequired: true } as never),
      u.client,
    );
    if (!isInputRequiredResult(result)) return result;
    const r = result as { inputRequests?: Record<string, unknown>; requestState?: string };
    const sealed: GatewayState = {
      instance: u.name,
      target,
      ...(r.requestState !== undefined ? { upstream: r.requestState } : {}),
    };
    return inputRequired({
      ...(r.inputRequests ? { inputRequests: r.inputRequests as never } : {}),
      requestState: await rounds.codec.mint(sealed, ctx),
    }) as never;
  }

  if (state !== undefined) throw mismatch();
  if (caller.era === "legacy") return asCaller(caller, () => call({}, options), u.client);
  // the held call outlives the request that started it: not cancelled with it, not reporting to it
  const { signal: _signal, onprogress: _progress, ...held } = options as RequestOptions & { onprogress?: unknown };
  const id = rounds.held.start((ask) => asCaller({ ...caller, ask }, () => call({}, held), u.client));
  return heldStep(rounds, ctx, u, target, id, undefined);
}

async function heldStep(
  rounds: Rounds,
  ctx: Caller["ctx"],
  u: Upstream,
  target: string,
  id: string,
  responses: Record<string, unknown> | undefined,
): Promise<Record<string, unknown>> {
  for (const [key, response] of Object.entries(responses ?? {})) rounds.held.answer(id, key, response);
  let step: Awaited<ReturnType<HeldCalls["step"]>>;
  try {
    step = await rounds.held.step<Record<string, unknown>>(id);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, (err as Error).message);
  }
  if (step.done) return step.value as Record<string, unknown>;
  const { key, method, params } = step.request;
  return inputRequired({
    inputRequests: { [key]: { method, params } } as never,
    requestState: await rounds.codec.mint({ instance: u.name, target, held: id }, ctx),
  }) as never;
}
