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

/** Newline-delimited JSON-RPC over a stdio pair; reports the end of the server exactly once. */
export class StdioUpstream {
  private buffer = "";
  private ended = false;

  constructor(
    private readonly source: StdioStreams | ChildProcess,
    private readonly onMessage: (msg: JsonRpcMessage) => void,
    private readonly onNoise: (line: string) => void,
    private readonly onEnd: (exit: UpstreamExit) => void,
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

  send(msg: JsonRpcMessage): boolean {
    if (this.ended) return false;
    const stdin = this.source.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) return false;
    stdin.write(`${JSON.stringify(msg)}\n`);
    return true;
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf("\n");
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.parse(line);
      nl = this.buffer.indexOf("\n");
    }
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
    const reason = why ?? (signal ? `killed by ${signal}` : code === null ? "exited" : `exited with code ${code}`);
    this.onEnd({ code, signal, reason });
  }
}
