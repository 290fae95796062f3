import type { Response } from "express";

/** One JSON-RPC message a client sent, as the audit log names it: never its arguments, only their keys. */
export interface RpcCall {
  id: string | number | null;
  method: string | null;
  /** The tool / prompt name, or the resource URI, the call is about. */
  name: string | null;
  argKeys: string[] | null;
}

export type RpcOutcome = "ok" | "error" | "tool_error";

/** What an MCP POST body asks for (one entry per message of a batch). */
export function callsOf(parsed: unknown): RpcCall[] {
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.map((m) => {
    const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
    const params = (typeof o.params === "object" && o.params !== null ? o.params : {}) as Record<string, unknown>;
    const named = typeof params.name === "string" ? params.name : typeof params.uri === "string" ? params.uri : null;
    const args = params.arguments;
    return {
      id: typeof o.id === "string" || typeof o.id === "number" ? o.id : null,
      method: typeof o.method === "string" ? o.method : null,
      name: named,
      argKeys: typeof args === "object" && args !== null && !Array.isArray(args) ? Object.keys(args) : null,
    };
  });
}

/**
 * Keeps the first `limit` bytes a response writes (JSON or an SSE stream), so the audit can tell a
 * JSON-RPC error from a result once the response is done. Returns a reader of what was kept.
 */
export function captureResponse(res: Response, limit = 256 * 1024): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === "function" || size >= limit) return;
    const b = Buffer.isBuffer(chunk)
      ? chunk
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : Buffer.from(String(chunk), typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
    const part = b.subarray(0, limit - size);
    chunks.push(part);
    size += part.length;
  };
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => Response;
  res.write = ((...a: unknown[]) => {
    keep(a[0], a[1]);
    return write(...a);
  }) as Response["write"];
  res.end = ((...a: unknown[]) => {
    keep(a[0], a[1]);
    return end(...a);
  }) as Response["end"];
  return () => Buffer.concat(chunks).toString("utf8");
}

function messagesIn(body: string, contentType: string): unknown[] {
  const parse = (t: string): unknown[] => {
    try {
      const v = JSON.parse(t);
      return Array.isArray(v) ? v : [v];
    } catch {
      return [];
    }
  };
  if (contentType.startsWith("text/event-stream")) {
    return body
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .flatMap((l) => parse(l.slice(5).trim()));
  }
  return body ? parse(body) : [];
}

/** The outcome of each request id in a JSON-RPC response body: error, tool error (`isError`) or ok. */
export function outcomesOf(body: string, contentType: string): Map<string | number, RpcOutcome> {
  const out = new Map<string | number, RpcOutcome>();
  for (const m of messagesIn(body, contentType)) {
    const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
    if (typeof o.id !== "string" && typeof o.id !== "number") continue;
    if ("error" in o) out.set(o.id, "error");
    else if ("result" in o) {
      const r = o.result as { isError?: unknown } | null;
      out.set(o.id, r && typeof r === "object" && r.isError === true ? "tool_error" : "ok");
    }
  }
  return out;
}

/** An error JSON-RPC answer without an id (e.g. a gateway refusal) makes every call of the request an error. */
export function bodyWideError(body: string, contentType: string): boolean {
  return messagesIn(body, contentType).some((m) => {
    const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
    return "error" in o && (o.id === null || o.id === undefined);
  });
}
