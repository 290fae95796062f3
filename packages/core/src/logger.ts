/** A pino-compatible logger. Library code only logs through an injected one; the default is silent. */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = () => {};

/** A logger that drops everything. */
export function silentLogger(): Logger {
  const logger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  return logger;
}

export interface RecordedLogLine {
  level: "debug" | "info" | "warn" | "error";
  bindings: Record<string, unknown>;
  obj: unknown;
  msg: string | undefined;
}

/** A logger that keeps every line in memory (tests: canary searches, assertions). */
export function recordingLogger(
  lines: RecordedLogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & {
  lines: RecordedLogLine[];
} {
  const at =
    (level: RecordedLogLine["level"]) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, bindings, obj, msg });
    };
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (b) => recordingLogger(lines, { ...bindings, ...b }),
  };
}
