import { setTimeout as sleep } from "node:timers/promises";
import { CliError } from "../errors.js";
import type { HostClient } from "./rest.js";

export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

/** Parses a text/event-stream body into frames (comments dropped, multi-line data joined). */
export async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, "\n");
    let at = buffer.indexOf("\n\n");
    while (at >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      at = buffer.indexOf("\n\n");
      let event = "message";
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line === "" || line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      if (data.length > 0 || event !== "message") yield { event, data: data.join("\n"), ...(id ? { id } : {}) };
    }
  }
}

export interface FollowOptions {
  /** Keep the stream open and reconnect after a drop (with Last-Event-ID). */
  follow: boolean;
  signal: AbortSignal;
  /** Called before each reconnect (for a notice on stderr). */
  onReconnect?: (attempt: number, lastEventId: string | undefined, why: string) => void;
}

/**
 * `GET /v1/events` frames; with `follow`, a dropped connection is resumed with the last id seen
 * (`Last-Event-ID`), retrying with backoff while the host is unreachable. Refusals (401, 403, 4xx)
 * end the stream with their problem.
 */
export async function* fleetEvents(client: HostClient, query: URLSearchParams, options: FollowOptions) {
  let lastEventId: string | undefined;
  let attempt = 0;
  if (!options.follow) query.set("follow", "false");
  for (;;) {
    try {
      const res = await client.fetch("GET", `/v1/events?${query}`, {
        headers: { accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
        signal: options.signal,
      });
      attempt = 0;
      for await (const frame of sseFrames(res.body!)) {
        if (frame.id) lastEventId = frame.id;
        yield frame;
      }
      if (!options.follow) return;
      options.onReconnect?.(++attempt, lastEventId, "the host closed the stream");
    } catch (err) {
      if (options.signal.aborted) return;
      const retryable =
        !(err instanceof CliError) || err.code === "HOST_UNREACHABLE" || (err.status ?? 0) >= 500 || err.status === 429;
      if (!options.follow || !retryable) throw err;
      options.onReconnect?.(++attempt, lastEventId, (err as Error).message);
    }
    try {
      await sleep(Math.min(250 * 2 ** Math.min(attempt, 5), 5_000), undefined, { signal: options.signal });
    } catch {
      return;
    }
  }
}
