import { FleetError } from "@mcpfleet/core";
import type { ResolvedConnection } from "./connections.js";

/**
 * Session affinity over an instance's copies without shared state: a session opened on copy `i` of
 * an instance with several copies is handed to the client as `mcpfleet-r<i>.<upstream id>`, so any
 * gateway process (a restarted one, another API replica) sends its follow-up requests to that copy
 * with the upstream id. An id without the prefix belongs to copy 0 (sessions opened while the
 * instance had one copy keep working after it scales up).
 */
const PREFIX = /^mcpfleet-r(\d{1,4})\.(.+)$/s;

export function replicaSessionId(replica: number, upstream: string): string {
  return `mcpfleet-r${replica}.${upstream}`;
}

export function parseReplicaSession(sessionId: string): { replica: number; upstream: string } {
  const m = PREFIX.exec(sessionId);
  return m?.[1] && m[2] ? { replica: Number(m[1]), upstream: m[2] } : { replica: 0, upstream: sessionId };
}

/** Where one request goes. */
export interface ReplicaRoute {
  endpoint: string;
  url: URL;
  /** The copy, when the instance reports copies (absent: its one endpoint). */
  replica?: number;
  /** Whether a session opened by this request is handed out with the copy prefix. */
  prefixSessions: boolean;
}

const MAX_COUNTERS = 10_000;

/** Spreads requests that belong to no session over the ready copies, in turn per instance. */
export class ReplicaRouter {
  private readonly turns = new Map<string, number>();

  /** The copy that opened `sessionId`, or the next copy in turn when there is no session. */
  route(conn: ResolvedConnection, sessionId: string | undefined): ReplicaRoute {
    const copies = conn.replicas;
    if (!copies) return { endpoint: conn.endpoint, url: conn.url, prefixSessions: false };
    const prefixSessions = copies.length > 1;
    if (sessionId !== undefined) {
      const { replica } = parseReplicaSession(sessionId);
      const copy = copies.find((c) => c.replica === replica);
      // its copy is gone (scaled down, or down): the client must open a new session
      if (!copy) throw new FleetError("NOT_FOUND", "Session not found");
      return this.at(copy, prefixSessions);
    }
    return this.at(this.next(conn), prefixSessions);
  }

  /** Copy `replica` (legacy SSE message posts name it in their path). */
  copy(conn: ResolvedConnection, replica: number): ReplicaRoute | undefined {
    if (!conn.replicas) return replica === 0 ? this.route(conn, undefined) : undefined;
    const copy = conn.replicas.find((c) => c.replica === replica);
    return copy ? this.at(copy, conn.replicas.length > 1) : undefined;
  }

  clear(): void {
    this.turns.clear();
  }

  private next(conn: ResolvedConnection): { replica: number; endpoint: string } {
    const copies = conn.replicas ?? [];
    if (copies.length === 0) {
      throw new FleetError("RUNTIME_UNAVAILABLE", `instance ${conn.instance.name} has no replica running`, {
        isRetryable: true,
      });
    }
    const id = conn.instance.id;
    const turn = this.turns.get(id) ?? 0;
    if (this.turns.size >= MAX_COUNTERS && !this.turns.has(id)) this.turns.clear();
    this.turns.set(id, turn + 1);
    return copies[turn % copies.length] as { replica: number; endpoint: string };
  }

  private at(copy: { replica: number; endpoint: string }, prefixSessions: boolean): ReplicaRoute {
    return { endpoint: copy.endpoint, url: new URL(copy.endpoint), replica: copy.replica, prefixSessions };
  }
}
