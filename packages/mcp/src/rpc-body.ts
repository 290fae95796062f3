import type { IncomingMessage } from "node:http";
import { JSONRPC_INVALID_REQUEST, JSONRPC_PARSE_ERROR, type JsonRpcMessage } from "./jsonrpc.js";

/** What a POST body to an MCP endpoint holds, once read and checked. */
export type RpcBody =
  | { ok: true; raw: Buffer; parsed: unknown; messages: JsonRpcMessage[] }
  | { ok: false; status: number; code: number; message: string };

/** Default cap of an MCP POST body (a JSON-RPC message or batch). */
export const DEFAULT_RPC_BODY_LIMIT = 4 * 1024 * 1024;

function invalid(message: string, code = JSONRPC_INVALID_REQUEST, status = 400): RpcBody {
  return { ok: false, status, code, message };
}

/**
 * Checks one JSON-RPC 2.0 message's shape (requests, notifications and responses a client sends):
 * `jsonrpc` "2.0", a string `method` or a `result`/`error`, an id that is a string, number or null.
 * Returns why it is not one, or undefined.
 */
export function rpcMessageProblem(m: unknown): string | undefined {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return "a JSON-RPC message must be an object";
  const o = m as Record<string, unknown>;
  if (o.jsonrpc !== "2.0") return 'jsonrpc must be "2.0"';
  if ("id" in o && o.id !== null && typeof o.id !== "string" && !(typeof o.id === "number" && Number.isFinite(o.id)))
    return "id must be a string, a number or null";
  if ("method" in o) {
    if (typeof o.method !== "string" || o.method === "") return "method must be a non-empty string";
    if ("params" in o && (typeof o.params !== "object" || o.params === null))
      return "params must be an object or an array";
    return undefined;
  }
  if (!("result" in o) && !("error" in o)) return "a JSON-RPC message needs a method, a result or an error";
  return undefined;
}

/** Parses and checks a body already read (a Buffer, a string, or what a framework's JSON parser produced). */
export function checkRpcBody(body: Buffer | string | unknown): RpcBody {
  let raw: Buffer;
  let parsed: unknown;
  if (Buffer.isBuffer(body) || typeof body === "string") {
    raw = Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      return invalid("Parse error: the body is not JSON", JSONRPC_PARSE_ERROR);
    }
  } else {
    parsed = body;
    raw = Buffer.from(JSON.stringify(body), "utf8");
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) return invalid("an empty batch is not a JSON-RPC request");
  for (const m of list) {
    const problem = rpcMessageProblem(m);
    if (problem) return invalid(`Invalid Request: ${problem}`);
  }
  return { ok: true, raw, parsed, messages: list as JsonRpcMessage[] };
}

/**
 * Reads an MCP POST body up to `limit` bytes and checks it. A body a framework already consumed
 * (`req.body`, e.g. Express's raw or JSON parser) is used as it is.
 */
export async function readRpcBody(req: IncomingMessage, limit = DEFAULT_RPC_BODY_LIMIT): Promise<RpcBody> {
  const pre = (req as IncomingMessage & { body?: unknown }).body;
  if (pre !== undefined && (Buffer.isBuffer(pre) ? pre.length > 0 : typeof pre === "object" || typeof pre === "string"))
    return checkRpcBody(pre);
  const body = await new Promise<Buffer | "too-large" | "error">((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      // past the cap: keep draining (so the answer can still be sent), keep nothing
      if (size <= limit) chunks.push(c);
      else chunks.length = 0;
    });
    req.on("end", () => resolve(size > limit ? "too-large" : Buffer.concat(chunks)));
    req.on("error", () => resolve("error"));
  });
  if (body === "too-large")
    return invalid(`the request body is larger than ${limit} bytes`, JSONRPC_INVALID_REQUEST, 413);
  if (body === "error") return invalid("the request body could not be read");
  return checkRpcBody(body);
}
