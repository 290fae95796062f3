import type { Logger } from "@mcpfleet/core";

/** `--verbose`: the fleet's log as JSON lines on stderr (errors reduced to name, code and message). */
export function stderrLogger(bindings: Record<string, unknown> = {}): Logger {
  const emit = (level: string, obj: unknown, msg?: string) => {
    const fields = typeof obj === "object" && obj !== null ? (obj as Record<string, unknown>) : { value: obj };
    const line: Record<string, unknown> = { level, time: new Date().toISOString(), ...bindings };
    for (const [k, v] of Object.entries(fields))
      line[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
    if (msg) line.msg = msg;
    try {
      process.stderr.write(`${JSON.stringify(line)}\n`);
    } catch {
      process.stderr.write(`{"level":"error","msg":"unserialisable log line"}\n`);
    }
  };
  return {
    debug: () => {},
    info: (o, m) => emit("info", o, m),
    warn: (o, m) => emit("warn", o, m),
    error: (o, m) => emit("error", o, m),
    child: (b) => stderrLogger({ ...bindings, ...b }),
  };
}
