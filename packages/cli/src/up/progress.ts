import type { Fleet, FleetEvent } from "@mcpfleet/core";
import type { Io } from "../output.js";

interface Row {
  name: string;
  status: string;
  reason: string | null;
}

const SETTLED = new Set(["running", "failed", "stopped"]);
const MARK: Record<string, string> = { running: "✔", failed: "✖", stopped: "■", unhealthy: "!" };

/**
 * Each server's state as it comes up: on a terminal a block of lines redrawn in place (stderr), else
 * one plain line per change. Follows the fleet's events; `settled` resolves when every watched
 * server is running, failed or stopped.
 */
export class Progress {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private readonly unsubscribe: () => void;
  private waiters: Array<() => void> = [];

  constructor(
    fleet: Fleet,
    private readonly io: Io,
    private tty: boolean,
  ) {
    this.unsubscribe = fleet.subscribe((e) => this.onEvent(e));
  }

  watch(id: string, name: string, status: string, reason: string | null = null): void {
    this.rows.set(id, { name, status, reason });
    if (this.tty) this.draw();
    else this.io.err(`${name}: ${status}${reason ? ` (${reason})` : ""}\n`);
  }

  /** Names of the servers that failed. */
  get failed(): string[] {
    return [...this.rows.values()].filter((r) => r.status === "failed").map((r) => r.name);
  }

  get allSettled(): boolean {
    return [...this.rows.values()].every((r) => SETTLED.has(r.status));
  }

  settled(): Promise<void> {
    if (this.allSettled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops redrawing in place (later changes are plain lines below the URLs). */
  freeze(): void {
    this.tty = false;
  }

  close(): void {
    this.unsubscribe();
    for (const w of this.waiters) w();
    this.waiters = [];
  }

  private onEvent(e: FleetEvent): void {
    if (e.type !== "MCPServerInstanceStatusChanged") return;
    const row = this.rows.get(e.subject);
    if (!row || !e.data.status) return;
    row.status = e.data.status;
    row.reason = e.data.status_reason ?? null;
    if (this.tty) this.draw();
    else this.io.err(`${row.name}: ${row.status}${row.reason ? ` (${row.reason})` : ""}\n`);
    if (this.allSettled) {
      for (const w of this.waiters) w();
      this.waiters = [];
    }
  }

  private draw(): void {
    const width = Math.max(...[...this.rows.values()].map((r) => r.name.length));
    const lines = [...this.rows.values()].map((r) => {
      const mark = MARK[r.status] ?? "…";
      return `  ${mark} ${r.name.padEnd(width)}  ${r.status}${r.reason ? `  ${r.reason}` : ""}`;
    });
    // move up over the previous block and clear it, then draw the new one
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    this.io.err(`${up}\x1b[0J${lines.join("\n")}\n`);
    this.drawn = lines.length;
  }
}
