import type { HealthProbe, ProbeResult, ProbeTarget } from "@mcpfleet/core";
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
 * Health = MCP `initialize` then `ping` within the timeout, over Streamable HTTP or SSE with the
 * target's resolved headers. Applies to http(s) endpoints whose spec names no HTTP `health_check.path`.
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
      let step = "initialize";
      try {
        client = await connectClient(t, {
          signal: both,
          timeoutMs,
          clientInfo: opts.clientInfo ?? { name: "mcpfleet-probe", version: "0.1.0" },
        });
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
      }
    },
  };
}
