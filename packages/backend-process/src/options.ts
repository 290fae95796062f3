import type { spawn } from "node:child_process";
import type { Logger } from "@mcpfleet/core";
import { isLogger, LOGGER_MESSAGE, parseOptions as parseAdapterOptions } from "@mcpfleet/core/adapter";
import type { StdioBridgeOptions } from "@mcpfleet/mcp";
import { z } from "zod";

const loggerSchema = z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE });
const absolute = z.string().startsWith("/", { message: "must be an absolute path" });
const id = z.number().int().min(1).max(4_294_967_294);

export const optionsSchema = z.object({
  /** Adapter name (default `process`). */
  name: z.string().min(1).optional(),
  logger: loggerSchema.optional(),
  /** Removed: children never see the parent's environment. Kept in the schema to refuse it loudly. */
  inheritEnv: z.literal(false, { message: "was removed: a child never gets the parent's environment" }).optional(),
  /** Extra variables of every child's base environment (over the allowlisted PATH, LANG, TZ...). */
  baseEnv: z.record(z.string(), z.string()).optional(),
  /** How children are confined (default `auto`: `bwrap` when it works, else `user` as root, else refuse). */
  sandbox: z.enum(["auto", "bwrap", "user", "none"]).optional(),
  /** Allow `sandbox: "none"` while the host runs as root (children then run as root). */
  allowRoot: z.boolean().optional(),
  /** Unprivileged uid/gid children run as (default 65534, `nobody`). */
  uid: id.optional(),
  gid: id.optional(),
  /** Per-instance writable directories and pid records (default `<tmpdir>/mcpfleet-process-<uid>`). */
  workDir: absolute.optional(),
  /** Host directories bound read-only into the bwrap sandbox besides the system ones (a project, node_modules). */
  readOnlyPaths: z.array(absolute).optional(),
  /** Host paths never visible inside the sandbox even when under a read-only path (the host's data directory). */
  hiddenPaths: z.array(absolute).optional(),
  /** The bubblewrap program (default `bwrap` on PATH). */
  bwrapPath: z.string().min(1).optional(),
  /** Log lines kept per instance (default 1000). */
  logLimit: z.number().int().positive().optional(),
  /** Time between SIGTERM and SIGKILL on remove (default 5000 ms). */
  killGraceMs: z.number().int().nonnegative().optional(),
  /** How long deploy waits for readiness (bridge handshake or open port) before returning `starting` (default 30000 ms). */
  startTimeoutMs: z.number().int().positive().optional(),
  /** Path of the MCP endpoint of HTTP-transport processes (default `/mcp`). */
  httpPath: z.string().startsWith("/").optional(),
  /**
   * The address other machines reach this host's children on (default `127.0.0.1`): the host part
   * of HTTP-transport endpoints, and where stdio bridges listen unless `bridge.host` says otherwise.
   * Set it when the gateway runs on another machine (an API replica elsewhere).
   */
  advertiseHost: z.string().min(1).max(255).optional(),
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
  return parseAdapterOptions("backend-process", optionsSchema, value);
}
