import { FleetError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";

/** One problem with an option: `path` is dotted (`tls.cert`), `message` never echoes the value. */
export interface OptionIssue {
  path: string;
  message: string;
}

/** The part of a zod (v3 or v4) issue the kit reads. */
interface SchemaIssue {
  code?: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
}

/** Anything with zod's `safeParse` (zod 3 or 4 schemas). */
export interface SafeParser<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: SchemaIssue[] } };
}

/** `[mcpfleet/<adapter>]`: the prefix of every message an adapter writes. */
export function adapterTag(adapter: string): string {
  return `[mcpfleet/${adapter}]`;
}

/**
 * `OPTIONS_INVALID` with the message `[mcpfleet/<adapter>] option "<path>" <message>`; `subject`
 * replaces the word `option` (e.g. `legacy source option`).
 */
export function optionsError(
  adapter: string,
  path: string,
  message: string,
  extra: { issues?: OptionIssue[]; subject?: string } = {},
): FleetError {
  const more = extra.issues && extra.issues.length > 1 ? ` (+${extra.issues.length - 1} more)` : "";
  return new FleetError(
    "OPTIONS_INVALID",
    `${adapterTag(adapter)} ${extra.subject ?? "option"} "${path || "(options)"}" ${message}${more}`,
    { path, isRetryable: false, ...(extra.issues ? { issues: extra.issues } : {}) },
  );
}

function toIssue(issue: SchemaIssue): OptionIssue {
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys?.[0] ?? "";
    return { path: [...issue.path.map(String), key].filter(Boolean).join("."), message: "is not known" };
  }
  return { path: issue.path.map(String).join("."), message: issue.message || "is invalid" };
}

/**
 * Validates adapter options with a zod schema. `undefined` is parsed as `{}`; anything else that is
 * not an object is refused. Throws `OPTIONS_INVALID` naming the adapter and the first bad option
 * (`[mcpfleet/bus-redis] option "url" must be a redis:// URL (+1 more)`), with every issue in
 * `issues`. Never echoes option values (they may hold credentials).
 */
export function parseOptions<T>(
  adapter: string,
  schema: SafeParser<T>,
  value: unknown,
  extra: { subject?: string } = {},
): T {
  const input = value ?? {};
  if (typeof input !== "object") {
    throw new FleetError("OPTIONS_INVALID", `${adapterTag(adapter)} options must be an object`, {
      path: "",
      isRetryable: false,
    });
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(toIssue);
  const first = issues[0] ?? { path: "", message: "is invalid" };
  throw optionsError(adapter, first.path, first.message, { issues, ...extra });
}

/** For `z.custom<Logger>(isLogger, ...)`: a pino-compatible logger. */
export function isLogger(value: unknown): value is Logger {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Logger).child === "function" &&
    typeof (value as Logger).warn === "function"
  );
}

/** The injected logger, or a silent one, with `bindings` (what every adapter does with its `logger` option). */
export function adapterLogger(logger: Logger | undefined, bindings: Record<string, unknown>): Logger {
  return (logger ?? silentLogger()).child(bindings);
}

export const LOGGER_MESSAGE = "must be a pino-compatible logger ({debug, info, warn, error, child})";
