import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";

/** One audit record. Carries who (key id), what, target and result; never bodies or secret values. */
export interface AuditEntry {
  time: string;
  actor: string;
  role: string | null;
  action: string;
  method: string;
  path: string;
  target: string | null;
  result: "ok" | "denied" | "error" | "tool_error";
  status: number;
  code?: string;
  ip?: string;
  /** MCP calls: the JSON-RPC method, the tool/prompt/resource it names, its argument keys (never values). */
  rpc_method?: string | null;
  tool?: string | null;
  arg_keys?: string[] | null;
  duration_ms?: number;
  /** MCP calls: the authorization decision, why, the policy that took it and the instance. */
  decision?: "allowed" | "denied";
  reason?: string;
  policy?: string | null;
  instance?: string | null;
}

export interface AuditLog {
  write(entry: AuditEntry): void;
  close(): Promise<void>;
}

/** Appends JSON lines to a file (created 0600 with its directory). */
export function fileAuditLog(path: string): AuditLog {
  mkdirSync(dirname(path), { recursive: true });
  const stream: WriteStream = createWriteStream(path, { flags: "a", mode: 0o600 });
  stream.on("error", () => {});
  return {
    write(entry) {
      stream.write(`${JSON.stringify(entry)}\n`);
    },
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  };
}
