import type { ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { JsonRpcMessage } from "../jsonrpc.js";
import { isJsonRpcMessage } from "../jsonrpc.js";

/** The stdio pair of an MCP server: the bridge writes to `stdin` and reads newline-delimited JSON from `stdout`. */
export interface StdioStreams {
  stdin: Writable;
  stdout: Readable;
}

export interface UpstreamExit {
  code: number | null;
  signal: string | null;
  reason: string;
}

export function isChildProcess(v: unknown): v is ChildProcess {
  return typeof v === "object" && v !== null && typeof (v as ChildProcess).kill === "function" && "pid" in v;
}

/** A stdout line longer than the limit: dropped; `id` is the JSON-RPC id it seemed to carry, if any. */
export interface OversizedLine {
  bytes: number;
  id?: number | string;
}

const ID_AT_START = /^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(\d+|"[^"\\]{0,200}")/;
const ID_AT_END = /"id"\s*:\s*(\d+|"[^"\\]{0,200}")\s*\}\s*$/;
const KEEP = 512;

function idFrom(head: string, tail: string): number | string | undefined {
  const m = ID_AT_START.exec(head) ?? ID_AT_END.exec(tail);
  if (!m?.[1]) return undefined;
  return m[1].startsWith('"') ? m[1].slice(1, -1) : Number(m[1]);
}

/**
 * Newline-delimited JSON-RPC over a stdio pair; reports the end of the server exactly once. A line
 * longer than `maxLineBytes` is never held whole: it is dropped as it streams (only its first and
 * last few hundred bytes are kept, to name the request it answered) and reported to `onOversized`.
 */
export class StdioUpstream {
  private parts: string[] = [];
  private buffered = 0;
  /** Set while dropping the rest of an oversized line. */
  private dropping: { head: string; tail: string; bytes: number } | undefined;
  private ended = false;

  constructor(
    private readonly source: StdioStreams | ChildProcess,
    private readonly onMessage: (msg: JsonRpcMessage) => void,
    private readonly onNoise: (line: string) => void,
    private readonly onEnd: (exit: UpstreamExit) => void,
    private readonly maxLineBytes = 16 * 1024 * 1024,
    private readonly onOversized: (line: OversizedLine) => void = () => {},
  ) {
    const stdout = source.stdout;
    const stdin = source.stdin;
    if (!stdout || !stdin) throw new TypeError("stdio streams missing");
    stdout.setEncoding("utf8");
    stdout.on("data", (chunk: string) => this.feed(chunk));
    stdin.on("error", () => {
      /* EPIPE after the server exits: reported through exit/close */
    });
    if (isChildProcess(source)) {
      if (source.exitCode !== null || source.signalCode !== null) {
        queueMicrotask(() => this.end(source.exitCode, source.signalCode));
      }
      // "close" fires once stdout is drained (last responses first); "exit" is the fallback when a
      // grandchild keeps the pipes open
      source.on("close", (code: number | null, signal: string | null) => this.end(code, signal));
      source.on("exit", (code, signal) => {
        setTimeout(() => this.end(code, signal), 200).unref();
      });
      source.on("error", (err) => this.end(null, null, `failed to start: ${err.message}`));
    } else {
      stdout.on("close", () => this.end(null, null, "stdout closed"));
      stdout.on("end", () => this.end(null, null, "stdout ended"));
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Bytes (UTF-16 code units) of the incomplete line held in memory. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  send(msg: JsonRpcMessage): boolean {
    if (this.ended) return false;
    const stdin = this.source.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) return false;
    stdin.write(`${JSON.stringify(msg)}\n`);
    return true;
  }

  private feed(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf("\n");
    while (nl >= 0) {
      this.take(chunk.slice(start, nl));
      this.endLine();
      start = nl + 1;
      nl = chunk.indexOf("\n", start);
    }
    if (start < chunk.length) this.take(chunk.slice(start));
  }

  /** Appends part of the current line (no newline in it), dropping it once the line is too long. */
  private take(part: string): void {
    if (part.length === 0) return;
    if (this.dropping) {
      this.dropping.bytes += part.length;
      this.dropping.tail = (this.dropping.tail + part).slice(-KEEP);
      return;
    }
    if (this.buffered + part.length <= this.maxLineBytes) {
      this.parts.push(part);
      this.buffered += part.length;
      return;
    }
    const held = this.parts.join("") + part;
    this.dropping = { head: held.slice(0, KEEP), tail: held.slice(-KEEP), bytes: held.length };
    this.parts = [];
    this.buffered = 0;
  }

  private endLine(): void {
    if (this.dropping) {
      const d = this.dropping;
      this.dropping = undefined;
      const id = idFrom(d.head, d.tail);
      this.onOversized({ bytes: d.bytes, ...(id !== undefined ? { id } : {}) });
      return;
    }
    const line = (this.parts.length === 1 ? this.parts[0]! : this.parts.join("")).trim();
    this.parts = [];
    this.buffered = 0;
    if (line) this.parse(line);
  }

  private parse(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.onNoise(line);
      return;
    }
    if (isJsonRpcMessage(value)) this.onMessage(value);
    else this.onNoise(line);
  }

  private end(code: number | null, signal: string | null, why?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.parts = [];
    this.buffered = 0;
    this.dropping = undefined;
    const reason = why ?? (signal ? `killed by ${signal}` : code === null ? "exited" : `exited with code ${code}`);
    this.onEnd({ code, signal, reason });
  }
}
