import type { ServerResponse } from "node:http";
import type { JsonRpcMessage } from "../jsonrpc.js";
import { startSse, writeSse } from "./http-util.js";

/**
 * The answer channel of one POST. The transport (JSON or SSE) is chosen lazily: a POST holding one
 * request whose response is the first thing to come back is answered as `application/json` (cheapest);
 * anything sent before the response (progress, server-to-client requests) switches it to SSE when the
 * client accepts it. Batches are answered with one JSON array.
 */
export class PostStream {
  private mode: "undecided" | "json" | "sse" = "undecided";
  private batchReplies: JsonRpcMessage[] = [];
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private remaining: number,
    private readonly acceptsSse: boolean,
    private readonly batch: boolean,
    private readonly headers: Record<string, string>,
  ) {
    res.on("close", () => {
      this.closed = true;
    });
  }

  get open(): boolean {
    return !this.closed && !this.res.writableEnded && !this.res.destroyed;
  }

  /** True when this stream can carry a message that is not a final response (progress, requests). */
  get canStream(): boolean {
    return this.open && !this.batch && (this.mode === "sse" || (this.mode === "undecided" && this.acceptsSse));
  }

  /** Sends a final response for one of the POST's requests. */
  respond(msg: JsonRpcMessage): void {
    if (!this.open) return;
    this.remaining -= 1;
    if (this.batch) {
      this.batchReplies.push(msg);
      if (this.remaining <= 0) this.endJson(this.batchReplies);
      return;
    }
    if (this.mode === "undecided" && this.remaining <= 0) {
      this.endJson(msg);
      return;
    }
    this.toSse();
    writeSse(this.res, msg);
    if (this.remaining <= 0) this.res.end();
  }

  /** Sends a related message (progress notification, server-to-client request). False if it cannot. */
  relay(msg: JsonRpcMessage): boolean {
    if (!this.canStream) return false;
    this.toSse();
    return writeSse(this.res, msg);
  }

  /** Ends the stream (server gone, session deleted). */
  abort(): void {
    if (this.open) this.res.end();
    this.closed = true;
  }

  private toSse(): void {
    if (this.mode === "sse") return;
    this.mode = "sse";
    startSse(this.res, this.headers);
  }

  private endJson(body: unknown): void {
    this.mode = "json";
    const text = JSON.stringify(body);
    this.res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...this.headers,
    });
    this.res.end(text);
  }
}
