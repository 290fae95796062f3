type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What the start of an SSE answer holds: only priming events so far, just the response, or anything else. */
export type AnswerStart = { kind: "priming" } | { kind: "response"; data: string } | { kind: "other" };

/** Priming events (an event id, no data) and one `message` event with a JSON-RPC response, nothing else. */
export function answerStart(text: string): AnswerStart {
  if (!text.endsWith("\n\n") || text.includes("\r")) return { kind: "other" };
  const events = text.slice(0, -2).split("\n\n");
  for (let i = 0; i < events.length; i++) {
    let data = "";
    let dataLines = 0;
    for (const line of events[i]!.split("\n")) {
      if (line.startsWith("data:")) {
        dataLines++;
        data = line.slice(line.startsWith("data: ") ? 6 : 5);
      } else if (line !== "event: message" && !line.startsWith("id:")) return { kind: "other" };
    }
    if (dataLines > 1) return { kind: "other" }; // several data lines: left to the SSE parser
    if (data === "") continue; // a priming event
    if (i !== events.length - 1 || !isResponse(data)) return { kind: "other" };
    return { kind: "response", data };
  }
  return { kind: "priming" };
}

function isResponse(data: string): boolean {
  let m: unknown;
  try {
    m = JSON.parse(data);
  } catch {
    return false;
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) return false;
  return "id" in m && !("method" in m) && ("result" in m || "error" in m);
}

/** The chunks read so far, then what `reader` still holds (or the failure that stopped the reading). */
function replay(
  chunks: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  end: { done: boolean; failure?: unknown },
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = chunks.shift();
      if (next) return controller.enqueue(next);
      if (end.failure !== undefined) return controller.error(end.failure);
      if (end.done) return controller.close();
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** How much of an answer is looked at before it is passed on as it came. */
const LOOK_CHUNKS = 8;
const LOOK_BYTES = 256 * 1024;

/**
 * Wraps the fetch an upstream MCP client POSTs with: an SSE answer that, after any priming events,
 * holds just the call's JSON-RPC response (no notification or server-to-client request before it;
 * the server ends the stream after it) is handed to the client as the `application/json` answer it
 * amounts to, so the client skips its per-answer decoder and event-parser streams. Anything else
 * (progress, log messages, elicitation, an event split across chunks, a stream that breaks, GET
 * streams) passes on as it came, byte for byte. A collapsed stream is read to its end, so its
 * connection is reused.
 */
export function collapseSingleAnswers(inner: Fetch): Fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const type = response.headers.get("content-type") ?? "";
    if (method !== "POST" || !response.body || !type.startsWith("text/event-stream")) return response;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const chunks: Uint8Array[] = [];
    const end: { done: boolean; failure?: unknown } = { done: false };
    let text = "";
    let start: AnswerStart = { kind: "priming" };
    while (start.kind === "priming" && chunks.length < LOOK_CHUNKS && text.length < LOOK_BYTES) {
      try {
        const r = await reader.read();
        if (r.done) {
          end.done = true;
          break;
        }
        chunks.push(r.value);
        text += decoder.decode(r.value, { stream: true });
      } catch (err) {
        end.failure = err ?? new Error("the answer stream failed");
        break;
      }
      start = answerStart(text);
    }
    const base = { status: response.status, statusText: response.statusText };
    if (start.kind !== "response") {
      return new Response(replay(chunks, reader, end), { ...base, headers: response.headers });
    }
    void (async () => {
      try {
        while (!(await reader.read()).done);
      } catch {
        // the connection failed after the answer: nothing is lost
      }
    })();
    const headers = new Headers(response.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    return new Response(start.data, { ...base, headers });
  };
}
