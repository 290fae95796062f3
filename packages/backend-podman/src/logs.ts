import type { LogLine } from "@mcpfleet/core";

/**
 * Demultiplexes the engine's log/attach stream (8-byte frame headers: stream type, 3 zero bytes, payload
 * length big-endian) into lines. With `timestamps`, each line starts with an RFC 3339 time and a space.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };

  constructor(private readonly timestamps: boolean) {}

  /** Feeds raw bytes; returns the complete lines they finish. */
  push(chunk: Buffer): LogLine[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: LogLine[] = [];
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size).toString("utf8");
      this.pending = this.pending.subarray(8 + size);
      const stream = type === 2 ? "stderr" : "stdout";
      const text = this.partial[stream] + payload;
      const parts = text.split("\n");
      this.partial[stream] = parts.pop() ?? "";
      for (const raw of parts) out.push(this.line(stream, raw));
    }
    return out;
  }

  /** Lines left without a trailing newline when the stream ends. */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream]) out.push(this.line(stream, this.partial[stream]));
      this.partial[stream] = "";
    }
    return out;
  }

  private line(stream: "stdout" | "stderr", raw: string): LogLine {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (this.timestamps) {
      const space = text.indexOf(" ");
      const stamp = space > 0 ? text.slice(0, space) : "";
      if (/^\d{4}-\d\d-\d\dT/.test(stamp)) {
        const t = new Date(stamp);
        return { time: Number.isNaN(t.getTime()) ? stamp : t.toISOString(), stream, line: text.slice(space + 1) };
      }
    }
    return { time: new Date().toISOString(), stream, line: text };
  }
}
