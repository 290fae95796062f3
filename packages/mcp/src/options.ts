import type { Logger } from "@mcpfleet/core";
import { isLogger, LOGGER_MESSAGE, parseOptions as parseAdapterOptions, type SafeParser } from "@mcpfleet/core/adapter";
import { z } from "zod";

/** A zod schema for an injected pino-compatible logger. */
export const loggerSchema = z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE });

/**
 * Validates options with zod (the adapter kit's `parseOptions`); `adapter` is written as it appears
 * in the message, `mcpfleet/mcp gateway`. Never echoes option values (they may hold credentials).
 */
export function parseOptions<S extends z.ZodType>(adapter: string, schema: S, value: unknown): z.output<S> {
  return parseAdapterOptions(adapter.replace(/^mcpfleet\//, ""), schema as SafeParser<z.output<S>>, value);
}
