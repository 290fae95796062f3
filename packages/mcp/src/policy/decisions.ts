import type { IncomingMessage } from "node:http";

/** One authorization decision the gateway took on an MCP request (the host audits them). */
export interface PolicyDecision {
  instance: string | null;
  method: string | null;
  /** Tool or prompt name, or resource URI. */
  item: string | null;
  allowed: boolean;
  reason: string;
  policy: string | null;
}

const KEY = Symbol.for("mcpfleet.policyDecisions");
type WithDecisions = IncomingMessage & { [KEY]?: PolicyDecision[] };

export function recordDecision(req: IncomingMessage, d: PolicyDecision): void {
  const r = req as WithDecisions;
  const list = r[KEY] ?? [];
  list.push(d);
  r[KEY] = list;
}

/** The decisions taken on this request so far (empty when the gateway governed nothing). */
export function decisionsOf(req: IncomingMessage): PolicyDecision[] {
  return (req as WithDecisions)[KEY] ?? [];
}
