import type { HealthProbe, ProbeResult, ProbeTarget } from "@mcpfleet/core";
import { guardedFetch } from "@mcpfleet/core/adapter";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { z } from "zod";
import { parseOptions } from "../options.js";
import { closeClient, connectClient } from "./client.js";

const optionsSchema = z.object({
  /** Probe name (default `mcp`). */
  name: z.string().min(1).optional(),
  clientInfo: z.object({ name: z.string(), version: z.string() }).optional(),
});

export type McpProbeOptions = z.input<typeof optionsSchema>;

/**
 * Health over Streamable HTTP = `server/discover` answered (a 2026-07-28 server: one session-less
 * request), or else `initialize` then `ping` (a 2025-era server); over SSE `initialize` then `ping`.
 * Within the timeout, with the target's resolved headers. Applies to http(s) endpoints whose spec
 * names no HTTP `health_check.path`.
 */
export function mcpProbe(options: McpProbeOptions = {}): HealthProbe {
  const opts = parseOptions("mcpfleet/mcp probe", optionsSchema, options);
  return {
    name: opts.name ?? "mcp",
    appliesTo: (t: ProbeTarget) => !t.spec.healthCheck?.path && /^https?:\/\//.test(t.endpoint),
    async check(t, { signal, timeoutMs }): Promise<ProbeResult> {
      const started = performance.now();
      const timeout = AbortSignal.timeout(timeoutMs);
      const both = AbortSignal.any([signal, timeout]);
      let client: Awaited<ReturnType<typeof connectClient>> | undefined;
      let modern: Client | undefined;
      let step = t.transport === "sse" ? "initialize" : "server/discover";
      try {
        // a user-supplied endpoint connects through the fleet's endpoint policy (resolved addresses checked)
        const target = t.external && t.policy ? { ...t, fetch: guardedFetch(t.policy) } : t;
        const clientInfo = opts.clientInfo ?? { name: "mcpfleet-probe", version: "0.1.0" };
        if (t.transport !== "sse") {
          // "auto": server/discover first; a 2025-era server answers it with an error and gets initialize
          modern = new Client(clientInfo, { capabilities: {}, versionNegotiation: { mode: "auto" } });
          const transport = new StreamableHTTPClientTransport(new URL(t.endpoint), {
            requestInit: { headers: t.headers },
            ...(t.external && t.policy ? { fetch: guardedFetch(t.policy) } : {}),
          });
          await modern.connect(transport, { signal: both, timeout: timeoutMs });
          if (modern.getProtocolEra() !== "modern") {
            step = "ping";
            await modern.ping({ signal: both, timeout: timeoutMs });
          }
          return { ok: true, latencyMs: performance.now() - started };
        }
        client = await connectClient(target, { signal: both, timeoutMs, clientInfo });
        step = "ping";
        await client.ping({ signal: both, timeout: timeoutMs });
        return { ok: true, latencyMs: performance.now() - started };
      } catch (err) {
        const reason = timeout.aborted
          ? `MCP ${step} timed out after ${timeoutMs} ms`
          : `MCP ${step} failed: ${(err as Error).message}`;
        return { ok: false, reason, latencyMs: performance.now() - started };
      } finally {
        if (client) await closeClient(client);
        if (modern) await closeModern(modern);
      }
    },
  };
}

/** Closes a v2 client, ending its 2025-era session (DELETE) when it opened one. */
async function closeModern(client: Client): Promise<void> {
  const transport = client.transport as StreamableHTTPClientTransport | undefined;
  if (transport?.sessionId) await transport.terminateSession().catch(() => {});
  await client.close().catch(() => {});
}
