import type { ServerResponse } from "node:http";
import type { Transform } from "node:stream";
import { listOfResult, sseMessageRewriter } from "../policy/list-filter.js";
import type { SessionOwners } from "./session-owners.js";
import { sseEndpointRewriter } from "./sse-rewrite.js";

type Rewrite = (method: string, result: unknown) => unknown;
const none = () => undefined;

/**
 * The legacy HTTP+SSE streams relayed by this gateway. The upstream answers every POST of a session
 * on the session's GET stream, so that stream is where list results are filtered for the principal
 * that opened it (recognised by their shape: the POST that asked may have gone through another
 * replica) and where the gateway's own answers to those POSTs (policy refusals) must go. The session
 * id its endpoint event names is recorded as the opener's: nobody else may post into it.
 */
export class LegacySseStreams {
  private readonly streams = new Map<string, Transform>();

  constructor(private readonly owners: SessionOwners) {}

  private key(instanceId: string, sessionId: string): string {
    return `${instanceId}\n${sessionId}`;
  }

  /**
   * The transforms of one GET stream that `owner` opens on the instance: the endpoint event rewritten
   * to `prefix`, then (with `rewrite`) every list result filtered. Forgotten when `res` closes.
   */
  open(instanceId: string, owner: string, prefix: string, res: ServerResponse, rewrite?: Rewrite): Transform[] {
    let sessionId: string | undefined;
    const messages = sseMessageRewriter(rewrite ? listOfResult : none, rewrite ?? ((_m, r) => r));
    const endpoint = sseEndpointRewriter(prefix, (id) => {
      if (!id || sessionId) return;
      sessionId = id;
      this.owners.record(instanceId, id, owner);
      this.streams.set(this.key(instanceId, id), messages);
    });
    res.once("close", () => {
      if (!sessionId) return;
      const k = this.key(instanceId, sessionId);
      if (this.streams.get(k) === messages) this.streams.delete(k);
      this.owners.forget(instanceId, sessionId);
    });
    return [endpoint, messages];
  }

  /** Puts a JSON-RPC message on the session's stream; false when that stream is not held here. */
  deliver(instanceId: string, sessionId: string, message: unknown): boolean {
    const stream = this.streams.get(this.key(instanceId, sessionId));
    if (!stream || stream.destroyed || stream.readableEnded) return false;
    // the rewriter emits whole events only, so a message pushed between its chunks stays whole
    stream.push(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    return true;
  }

  clear(): void {
    this.streams.clear();
  }
}
