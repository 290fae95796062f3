import type { Logger } from "@mcpfleet/core";

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

/**
 * A small pino-compatible JSON-lines logger writing to stderr (stdout stays free for the "listening"
 * line). Errors are reduced to name/code/message; nothing else is serialised from them.
 */
export function jsonLogger(
  level: LogLevel = "info",
  bindings: Record<string, unknown> = {},
  write = (s: string) => process.stderr.write(s),
): Logger {
  const min = LEVELS[level];
  const emit = (lvl: Exclude<LogLevel, "silent">, obj: unknown, msg?: string) => {
    if (LEVELS[lvl] < min) return;
    const fields = typeof obj === "object" && obj !== null ? (obj as Record<string, unknown>) : { value: obj };
    const line: Record<string, unknown> = { level: lvl, time: new Date().toISOString(), ...bindings };
    for (const [k, v] of Object.entries(fields)) line[k] = v instanceof Error ? errorFields(v) : v;
    if (msg) line.msg = msg;
    write(`${safeStringify(line)}\n`);
  };
  return {
    debug: (o, m) => emit("debug", o, m),
    info: (o, m) => emit("info", o, m),
    warn: (o, m) => emit("warn", o, m),
    error: (o, m) => emit("error", o, m),
    child: (b) => jsonLogger(level, { ...bindings, ...b }, write),
  };
}

function errorFields(err: Error): Record<string, unknown> {
  return { name: err.name, message: err.message, ...("code" in err ? { code: (err as { code: unknown }).code } : {}) };
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return JSON.stringify({ level: "error", msg: "unserialisable log line" });
  }
}
