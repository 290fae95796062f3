import type { Fleet, FleetEvent } from "@mcpfleet/core";
import type { Request, Response } from "express";
import { Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { eventVisibility } from "../auth/policy-scope.js";
import type { Operation } from "../http/operation.js";

export interface EventStreamOptions {
  /** Events kept for `Last-Event-ID` resume (default 1000). */
  bufferSize?: number;
  /** Interval of the `: ping` comment that keeps proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
}

interface Entry {
  id: number;
  event: FleetEvent;
}

interface Client {
  send(entry: Entry): void;
  /** The host is closing: end the response. */
  end(): void;
}

/**
 * The fleet's events as numbered entries: one fleet subscription feeds a bounded ring buffer (for
 * resume) and every connected stream. Event data carries secret refs only (core publishes specs
 * with refs, never values), so entries are sent as published.
 */
export class FleetEventLog {
  private seq = 0;
  private readonly ring: Entry[] = [];
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: () => void;
  readonly bufferSize: number;
  readonly heartbeatMs: number;

  constructor(fleet: Fleet, options: EventStreamOptions = {}) {
    this.bufferSize = Math.max(1, options.bufferSize ?? 1000);
    this.heartbeatMs = Math.max(10, options.heartbeatMs ?? 15_000);
    this.unsubscribe = fleet.subscribe((event) => this.push(event));
  }

  /** Streams connected now (the `mcpfleet_event_streams` gauge). */
  get connected(): number {
    return this.clients.size;
  }

  get latest(): number {
    return this.seq;
  }

  /** The oldest id still buffered (latest + 1 when the buffer is empty). */
  get oldest(): number {
    return this.ring[0]?.id ?? this.seq + 1;
  }

  /** Buffered entries after `after`. */
  since(after: number): Entry[] {
    const first = this.ring.findIndex((e) => e.id > after);
    return first < 0 ? [] : this.ring.slice(first);
  }

  attach(client: Client): () => void {
    this.clients.add(client);
    return () => {
      this.clients.delete(client);
    };
  }

  /** Unsubscribes from the fleet and ends every open stream (so the HTTP server can drain). */
  close(): void {
    this.unsubscribe();
    for (const c of [...this.clients]) c.end();
    this.clients.clear();
  }

  /** Registers the gauge of connected streams in a host's metrics registry. */
  registerMetrics(registry: Registry): void {
    const log = this;
    new Gauge({
      name: "mcpfleet_event_streams",
      help: "Clients connected to GET /v1/events",
      registers: [registry],
      collect() {
        this.set(log.connected);
      },
    });
  }

  private push(event: FleetEvent): void {
    const entry = { id: ++this.seq, event };
    this.ring.push(entry);
    if (this.ring.length > this.bufferSize) this.ring.shift();
    for (const c of this.clients) c.send(entry);
  }
}

const EventsQuery = z.object({
  instance: z
    .union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).max(100)])
    .optional()
    .describe("Only events of this instance (id or name); repeat for several"),
  lastEventId: z.string().max(40).optional().describe("Resume after this id (for clients that cannot set headers)"),
  follow: z
    .enum(["true", "false"])
    .default("true")
    .describe("false: send the buffered events after the cursor, then end the response"),
});

/** `Last-Event-ID` (header first, then the query): a cursor, `undefined` when absent, NaN when unreadable. */
function requestedCursor(req: Request, query: z.infer<typeof EventsQuery>): number | undefined {
  const header = req.headers["last-event-id"];
  const raw = typeof header === "string" && header.trim() !== "" ? header.trim() : query.lastEventId;
  if (raw === undefined) return undefined;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
}

const frame = (e: Entry): string => `id: ${e.id}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event)}\n\n`;

function matcher(query: z.infer<typeof EventsQuery>): (e: FleetEvent) => boolean {
  const wanted = query.instance === undefined ? [] : [query.instance].flat();
  if (wanted.length === 0) return () => true;
  const set = new Set(wanted);
  return (e) =>
    set.has(e.subject) ||
    (typeof e.data.instance_id === "string" && set.has(e.data.instance_id)) ||
    (typeof e.data.instance_id === "string" && typeof e.data.name === "string" && set.has(e.data.name));
}

function stream(
  log: FleetEventLog,
  req: Request,
  res: Response,
  query: z.infer<typeof EventsQuery>,
  signal: AbortSignal,
  visible?: (instanceId: string | undefined) => Promise<boolean>,
) {
  const matches = matcher(query);
  // a policy's instance limit (identity): events of other instances are never written; the writes
  // stay in order through one chain
  let chain = Promise.resolve();
  const write = (e: Entry) => {
    if (!matches(e.event)) return;
    if (!visible) {
      res.write(frame(e));
      return;
    }
    const id = typeof e.event.data.instance_id === "string" ? e.event.data.instance_id : undefined;
    chain = chain.then(async () => {
      if ((await visible(id)) && !res.writableEnded) res.write(frame(e));
    });
  };
  const cursor = requestedCursor(req, query);
  res.status(200).set({
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  res.write(": connected\n\n");
  const follow = query.follow === "true";
  // resume: replay what the buffer holds after the cursor; a cursor the buffer no longer covers (or
  // one from an earlier run of the host) gets `reset` first, so the client reloads its state
  let after = cursor ?? (follow ? log.latest : 0);
  if (cursor !== undefined && (Number.isNaN(cursor) || cursor < log.oldest - 1 || cursor > log.latest)) {
    res.write(
      `event: reset\ndata: ${JSON.stringify({ requested: Number.isNaN(cursor) ? null : cursor, oldest: log.oldest, latest: log.latest })}\n\n`,
    );
    after = 0;
  }
  for (const e of log.since(after)) write(e);
  if (!follow) {
    void chain.then(() => res.end());
    return;
  }
  const detach = log.attach({
    send: write,
    end: () => res.end(),
  });
  const ping = setInterval(() => res.write(": ping\n\n"), log.heartbeatMs);
  const done = () => {
    clearInterval(ping);
    detach();
  };
  if (signal.aborted) done();
  else signal.addEventListener("abort", done, { once: true });
  res.once("close", done);
}

export function eventOperations(log: FleetEventLog, fleet: Fleet): Operation[] {
  return [
    {
      id: "streamEvents",
      method: "get",
      path: "/v1/events",
      role: "viewer",
      tag: "events",
      summary: "Fleet events as Server-Sent Events (id: cursor, event: type, data: the CloudEvents JSON)",
      description:
        "Filter with `instance` (repeatable). Resume with the `Last-Event-ID` header (or `lastEventId`): the " +
        "buffered events after it are sent first; when the buffer no longer reaches back that far an " +
        "`event: reset` comes first. A `: ping` comment every 15 s keeps the stream open.",
      query: EventsQuery,
      produces: ["text/event-stream"],
      handler: async ({ req, res, query, signal, principal }) => {
        stream(log, req, res, query as z.infer<typeof EventsQuery>, signal, eventVisibility(fleet, principal));
        return undefined;
      },
    },
  ];
}
