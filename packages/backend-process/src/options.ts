import type { spawn } from "node:child_process";
import type { Logger } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import type { StdioBridgeOptions } from "@mcpfleet/mcp";
import { z } from "zod";

const loggerSchema = z.custom<Logger>(
  (v) => typeof v === "object" && v !== null && typeof (v as Logger).child === "function",
  { message: "must be a pino-compatible logger" },
);

export const optionsSchema = z.object({
  /** Adapter name (default `process`). */
  name: z.string().min(1).optional(),
  logger: loggerSchema.optional(),
  /** Pass the parent's whole environment to children (default false: only `baseEnv`). */
  inheritEnv: z.boolean().optional(),
  /** Base environment of every child (default: the parent's PATH and HOME only). */
  baseEnv: z.record(z.string(), z.string()).optional(),
  /** Log lines kept per instance (default 1000). */
  logLimit: z.number().int().positive().optional(),
  /** Time between SIGTERM and SIGKILL on remove (default 5000 ms). */
  killGraceMs: z.number().int().nonnegative().optional(),
  /** How long deploy waits for readiness (bridge handshake or open port) before returning `starting` (default 30000 ms). */
  startTimeoutMs: z.number().int().positive().optional(),
  /** Path of the MCP endpoint of HTTP-transport processes (default `/mcp`). */
  httpPath: z.string().startsWith("/").optional(),
  /** Options of the stdio bridge. */
  bridge: z.record(z.string(), z.unknown()).optional(),
  /** Injected `child_process.spawn` (tests). */
  spawn: z.custom<typeof spawn>((v) => typeof v === "function", { message: "must be a function" }).optional(),
});

export interface ProcessRuntimeOptions extends Omit<z.input<typeof optionsSchema>, "bridge" | "spawn" | "logger"> {
  logger?: Logger;
  bridge?: Omit<StdioBridgeOptions, "logger">;
  spawn?: typeof spawn;
}

export type ParsedOptions = z.output<typeof optionsSchema>;

export function parseOptions(value: unknown): ParsedOptions {
  const result = optionsSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  throw new FleetError(
    "OPTIONS_INVALID",
    `[mcpfleet/backend-process] option "${first?.path || "(options)"}" ${first?.message ?? "is invalid"}`,
    {
      path: first?.path,
      issues,
      isRetryable: false,
    },
  );
}
