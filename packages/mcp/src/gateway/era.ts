import type { IncomingMessage } from "node:http";
import { classifyInboundRequest } from "@modelcontextprotocol/server";

/** The rungs of the SDK's inbound ladder an intermediary enforces; the rest (method registry, params, capabilities) are the instance's to judge. */
const INTERMEDIARY_RUNGS = new Set([
  "jsonrpc-shape",
  "era-classification",
  "envelope",
  "standard-header-validation",
  "param-header-validation",
]);

export type EraVerdict =
  | { era: "legacy" }
  | { era: "modern" }
  | { era: "reject"; status: number; code: number; message: string; data?: unknown };

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === "string" ? v : undefined;
};

/**
 * Which revision a request to the per-instance route speaks, with the SDK's own classifier: a
 * 2026-07-28 request (per-request `_meta` envelope) whose `MCP-Protocol-Version` / `Mcp-Method` /
 * `Mcp-Name` headers disagree with its body, or that names an unsupported revision, is refused here
 * as the spec asks of intermediaries (-32020 / -32022); everything else is forwarded.
 */
export function classifyEra(req: IncomingMessage, parsedBody: unknown): EraVerdict {
  if (req.method !== "POST") return { era: "legacy" };
  const protocolVersionHeader = header(req, "mcp-protocol-version");
  const mcpMethodHeader = header(req, "mcp-method");
  const mcpNameHeader = header(req, "mcp-name");
  const outcome = classifyInboundRequest({
    httpMethod: "POST",
    body: parsedBody,
    ...(protocolVersionHeader !== undefined ? { protocolVersionHeader } : {}),
    ...(mcpMethodHeader !== undefined ? { mcpMethodHeader } : {}),
    ...(mcpNameHeader !== undefined ? { mcpNameHeader } : {}),
  });
  if (outcome.kind === "legacy") return { era: "legacy" };
  if (outcome.kind === "modern") return { era: "modern" };
  if (!INTERMEDIARY_RUNGS.has(outcome.rung)) return { era: "modern" };
  return {
    era: "reject",
    status: outcome.httpStatus,
    code: outcome.code,
    message: outcome.message,
    ...(outcome.data !== undefined ? { data: outcome.data } : {}),
  };
}
