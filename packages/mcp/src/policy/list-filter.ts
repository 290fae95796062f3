import { Transform } from "node:stream";
import type { JsonRpcId } from "../jsonrpc.js";
import { callDecision, type InstanceFacts, itemDecision } from "./evaluate.js";
import type { AccessPolicy } from "./policy-schema.js";

/** The list methods whose results are filtered, and the array and name field each filters. */
const LISTS: Record<string, { field: string; kind: "tool" | "prompt" | "resource"; key: string }> = {
  "tools/list": { field: "tools", kind: "tool", key: "name" },
  "prompts/list": { field: "prompts", kind: "prompt", key: "name" },
  "resources/list": { field: "resources", kind: "resource", key: "uri" },
  "resources/templates/list": { field: "resourceTemplates", kind: "resource", key: "uriTemplate" },
};

export const isFilteredList = (method: string): boolean => Object.hasOwn(LISTS, method);

/**
 * Filters one list result to what the principal may use. `onTool` sees each upstream tool (the
 * gateway remembers their `readOnlyHint` for read-only policies).
 */
export function filterListResult(
  method: string,
  result: unknown,
  policy: AccessPolicy | undefined,
  inst: InstanceFacts,
  onTool?: (tool: { name: string; readOnlyHint: boolean | undefined }) => void,
): unknown {
  const spec = LISTS[method];
  if (!spec || typeof result !== "object" || result === null) return result;
  const r = result as Record<string, unknown>;
  const items = r[spec.field];
  if (!Array.isArray(items)) return result;
  const kept = items.filter((item) => {
    const o = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const name = typeof o[spec.key] === "string" ? (o[spec.key] as string) : "";
    if (spec.kind === "tool") {
      const ann = o.annotations as { readOnlyHint?: unknown } | undefined;
      const hint = typeof ann?.readOnlyHint === "boolean" ? ann.readOnlyHint : undefined;
      onTool?.({ name, readOnlyHint: hint });
      return callDecision(policy, inst, name, hint).allowed;
    }
    return itemDecision(policy, inst, spec.kind, name).allowed;
  });
  return { ...r, [spec.field]: kept };
}

/**
 * Which list a response answers: by the id of the request that asked (`pending`), or, where the
 * request was not seen (a legacy SSE stream, whose answers may come of a POST through any replica),
 * by the result's shape (`listOfResult`).
 */
export type ListLookup = Map<JsonRpcId, string> | ((result: unknown) => string | undefined);

/** The list method whose result has this shape (its top-level array), if any. */
export function listOfResult(result: unknown): string | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const r = result as Record<string, unknown>;
  for (const [method, spec] of Object.entries(LISTS)) if (Array.isArray(r[spec.field])) return method;
  return undefined;
}

/** Rewrites the JSON-RPC responses (one or a batch) that answer a list, as `lists` tells. */
export function rewriteMessages(
  value: unknown,
  lists: ListLookup,
  rewrite: (method: string, result: unknown) => unknown,
): unknown {
  const one = (m: unknown) => {
    const o = m as { id?: unknown; result?: unknown } | null;
    if (!o || typeof o !== "object" || !("result" in o)) return m;
    const method =
      typeof lists === "function"
        ? lists(o.result)
        : typeof o.id === "string" || typeof o.id === "number"
          ? lists.get(o.id)
          : undefined;
    return method ? { ...o, result: rewrite(method, o.result) } : m;
  };
  return Array.isArray(value) ? value.map(one) : one(value);
}

/** An SSE stream transform applying `rewriteMessages` to each `data:` event that parses as JSON. */
export function sseMessageRewriter(
  pending: ListLookup,
  rewrite: (method: string, result: unknown) => unknown,
): Transform {
  let buffer = "";
  const event = (block: string): string => {
    const lines = block.split(/\r?\n/);
    const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, ""));
    if (data.length === 0) return block;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      return block;
    }
    const out = rewriteMessages(parsed, pending, rewrite);
    if (out === parsed) return block;
    const rest = lines.filter((l) => !l.startsWith("data:"));
    return [...rest, `data: ${JSON.stringify(out)}`].join("\n");
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      buffer += chunk.toString("utf8");
      let out = "";
      let m = /\r?\n\r?\n/.exec(buffer);
      while (m) {
        out += event(buffer.slice(0, m.index)) + m[0];
        buffer = buffer.slice(m.index + m[0].length);
        m = /\r?\n\r?\n/.exec(buffer);
      }
      cb(null, out.length ? out : undefined);
    },
    flush(cb) {
      cb(null, buffer.length ? event(buffer) : undefined);
    },
  });
}
