/** Server-Sent Events over a fetch() body, so the request can carry the Authorization header (EventSource cannot). */

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Parses a text/event-stream body into messages (comments skipped, multi-line data joined). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let msg: { id?: string; event?: string; data: string[] } = { data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl = buffer.search(/\r\n|\r|\n/);
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (msg.data.length > 0 || msg.event)
            yield {
              event: msg.event ?? "message",
              data: msg.data.join("\n"),
              ...(msg.id !== undefined ? { id: msg.id } : {}),
            };
          msg = { data: [] };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const raw = colon < 0 ? "" : line.slice(colon + 1);
          const value = raw.startsWith(" ") ? raw.slice(1) : raw;
          if (field === "data") msg.data.push(value);
          else if (field === "event") msg.event = value;
          else if (field === "id") msg.id = value;
        }
        nl = buffer.search(/\r\n|\r|\n/);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
