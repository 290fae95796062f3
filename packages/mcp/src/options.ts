import type { Logger } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { z } from "zod";

/** A zod schema for an injected pino-compatible logger. */
export const loggerSchema = z.custom<Logger>(
  (v) =>
    typeof v === "object" &&
    v !== null &&
    typeof (v as Logger).child === "function" &&
    typeof (v as Logger).warn === "function",
  { message: "must be a pino-compatible logger ({debug, info, warn, error, child})" },
);

/**
 * Validates options with zod; throws `OPTIONS_INVALID` naming the adapter and the first bad option.
 * Never echoes option values (they may hold credentials).
 */
export function parseOptions<S extends z.ZodType>(adapter: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  const name = first?.path || "(options)";
  throw new FleetError("OPTIONS_INVALID", `[${adapter}] option "${name}" ${first?.message ?? "is invalid"}`, {
    path: first?.path,
    issues,
    isRetryable: false,
  });
}
