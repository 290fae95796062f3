import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonRpcId, JsonRpcMessage } from "../jsonrpc.js";
import { errorResponse } from "../jsonrpc.js";

export const SESSION_HEADER = "mcp-session-id";

/** Reads a request body up to `limit` bytes; rejects with `"too-large"` past it. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("too-large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")),
    );
    req.on("error", reject);
  });
}

/** Writes a JSON body (HTTP error or JSON-RPC error) and ends the response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendRpcError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId | null | undefined,
  code: number,
  message: string,
): void {
  sendJson(res, status, errorResponse(id, code, message));
}

/** Starts an SSE response; `flush` sends the headers at once (a GET stream that may stay silent). */
export function startSse(res: ServerResponse, headers: Record<string, string> = {}, flush = false): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    ...headers,
  });
  if (flush) res.flushHeaders();
}

export function writeSse(res: ServerResponse, msg: JsonRpcMessage): boolean {
  if (res.writableEnded || res.destroyed) return false;
  res.write(`event: message\ndata: ${JSON.stringify(msg)}\n\n`);
  return true;
}

export function accepts(req: IncomingMessage, type: string): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  return accept.includes(type) || accept.includes("*/*");
}
