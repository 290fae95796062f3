import type { Fleet, Instance, InstanceConnection, Logger } from "@mcpfleet/core";
import { guardedFetch } from "@mcpfleet/core/adapter";
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { bridgeLogging, bridgeServerRequests, callerContext } from "./caller.js";
import type { RelayTarget } from "./relay-wire.js";
import { collapseSingleAnswers } from "./single-answer.js";

/** The lists the aggregated endpoint merges, by the upstream method that fetches them. */
export const LIST_KINDS = {
  tools: { method: "tools/list", key: "tools", capability: "tools" },
  resources: { method: "resources/list", key: "resources", capability: "resources" },
  resourceTemplates: { method: "resources/templates/list", key: "resourceTemplates", capability: "resources" },
  prompts: { method: "prompts/list", key: "prompts", capability: "prompts" },
} as const;
export type ListKind = keyof typeof LIST_KINDS;

/** One running instance the aggregated endpoint talks to, through one MCP client (v2 SDK: either revision). */
export interface Upstream {
  instanceId: string;
  name: string;
  /** The instance as last listed (labels, server and tool filter feed the policy). */
  instance: Instance;
  client: Client;
  lists: Partial<Record<ListKind, Array<Record<string, unknown>>>>;
  /** A streamable HTTP instance: where `tools/call` can be relayed without the SDK pair (see CallRelay). */
  relay?: RelayTarget;
}

interface Entry {
  name: string;
  instance: Instance;
  connecting?: Promise<Upstream | undefined>;
  upstream?: Upstream;
  stale: boolean;
}

export interface UpstreamPoolOptions {
  timeoutMs: number;
  /** How long a modern upstream's lists are reused (they have no session to announce changes on). */
  listTtlMs?: number;
}

/**
 * Clients to every running instance, with each one's lists (tools, resources, templates, prompts)
 * fetched on first use and dropped on a fleet event for that instance or its `list_changed`.
 */
export class UpstreamPool {
  private readonly entries = new Map<string, Entry>();
  private readonly unsubscribe: () => void;
  private readonly listeners = new Set<(kind: ListKind | "all") => void>();
  private readonly listedAt = new Map<string, number>();
  private readonly updateListeners = new Set<(instance: string, uri: string) => void>();
  private readonly logListeners = new Set<(params: Record<string, unknown>) => void>();
  private closed = false;

  constructor(
    private readonly fleet: Fleet,
    private readonly logger: Logger,
    private readonly options: UpstreamPoolOptions,
  ) {
    this.unsubscribe = fleet.subscribe((ev) => {
      if (!ev.type.startsWith("MCPServerInstance")) return;
      const e = this.entries.get(ev.subject);
      const leaving = ev.type === "MCPServerInstanceDeleted" || (ev.data.status && ev.data.status !== "running");
      if (e && (leaving || ev.type === "MCPServerInstanceUpdated")) e.stale = true;
      // an instance joining, leaving or changing may change every merged list
      if (ev.type !== "MCPServerInstanceStatusChanged" || leaving || ev.data.status === "running") this.emit("all");
    });
  }

  /** Called when a merged list may have changed (an instance came or went, or an upstream said so). */
  onChange(listener: (kind: ListKind | "all") => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with an instance's own URI when it reports `notifications/resources/updated`. */
  onResourceUpdated(listener: (instance: string, uri: string) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /** Called with an instance's log messages that relate to no call (its logger prefixed `<instance>/`). */
  onLog(listener: (params: Record<string, unknown>) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  private emit(kind: ListKind | "all") {
    for (const l of this.listeners) l(kind);
  }

  /** Connected upstreams of every running instance (connecting the new ones). */
  async running(): Promise<Upstream[]> {
    const running = (await this.fleet.instances.list({ status: "running" })).filter((i) => i.status === "running");
    const keep = new Set(running.map((i) => i.id));
    for (const [id, e] of this.entries) {
      if (!keep.has(id)) {
        this.entries.delete(id);
        void e.upstream?.client.close().catch(() => {});
      }
    }
    const ups = await Promise.all(running.map((inst) => this.get(inst)));
    return ups.filter((u): u is Upstream => u !== undefined);
  }

  /** The upstream of one instance (by the name the aggregate shows), connected. */
  async byName(name: string): Promise<Upstream | undefined> {
    for (const e of this.entries.values()) if (e.name === name) return this.get(e.instance);
    const inst = (await this.fleet.instances.list({ status: "running" })).find((i) => i.name === name);
    return inst && inst.status === "running" ? this.get(inst) : undefined;
  }

  private async get(inst: Instance): Promise<Upstream | undefined> {
    const { id, name } = inst;
    let e = this.entries.get(id);
    if (e && !e.stale && e.name === name && (e.upstream || e.connecting)) {
      e.instance = inst;
      if (e.upstream) e.upstream.instance = inst;
      return e.upstream ?? e.connecting;
    }
    if (e?.upstream) void e.upstream.client.close().catch(() => {});
    e = { name, instance: inst, stale: false };
    this.entries.set(id, e);
    const entry = e;
    // connected outside any caller's context: the upstream's own streams belong to no downstream call
    entry.connecting = callerContext
      .exit(() => this.connect(inst))
      .then((u) => {
        u.instance = entry.instance;
        entry.upstream = u;
        return u;
      })
      .catch((err) => {
        entry.stale = true;
        this.logger.warn({ instanceId: id, err: (err as Error).message }, "aggregated endpoint cannot reach instance");
        return undefined;
      })
      .finally(() => {
        entry.connecting = undefined;
      });
    return entry.connecting;
  }

  private async connect(inst: Instance): Promise<Upstream> {
    const { id, name } = inst;
    const conn: InstanceConnection = await this.fleet.connection(id);
    const requestInit: RequestInit = { headers: conn.headers };
    // a user-supplied endpoint connects through the fleet's endpoint policy (resolved addresses checked)
    const guarded = conn.external ? { fetch: guardedFetch(this.fleet.endpointPolicy) } : {};
    const transport =
      conn.transport === "sse"
        ? new SSEClientTransport(new URL(conn.endpoint), { requestInit, ...guarded })
        : new StreamableHTTPClientTransport(new URL(conn.endpoint), {
            requestInit,
            fetch: collapseSingleAnswers(guarded.fetch ?? fetch),
          });
    // "auto": server/discover first, 2026-07-28 with modern instances, initialize (2025) with the others.
    // Client capabilities: what a downstream client may have; each request is forwarded to the caller
    // that caused it, and refused when that caller lacks the capability.
    const client = new Client(
      { name: "mcpfleet-gateway", version: "0.1.0" },
      {
        capabilities: { elicitation: { form: {}, url: {} }, sampling: {}, roots: { listChanged: true } },
        versionNegotiation: { mode: "auto" },
      },
    );
    bridgeServerRequests(client, name, conn.transport === "sse");
    bridgeLogging(client, name, (params) => {
      for (const l of this.logListeners) l(params);
    });
    const upstream: Upstream = { instanceId: id, name, instance: inst, client, lists: {} };
    if (transport instanceof StreamableHTTPClientTransport) {
      upstream.relay = { endpoint: new URL(conn.endpoint), headers: conn.headers, external: conn.external, transport };
    }
    const changed = (kind: ListKind, also?: ListKind) => () => {
      delete upstream.lists[kind];
      if (also) delete upstream.lists[also];
      this.emit(kind);
    };
    client.setNotificationHandler("notifications/tools/list_changed", changed("tools"));
    client.setNotificationHandler("notifications/prompts/list_changed", changed("prompts"));
    client.setNotificationHandler("notifications/resources/list_changed", changed("resources", "resourceTemplates"));
    client.setNotificationHandler("notifications/resources/updated", (n) => {
      const uri = (n as { params?: { uri?: unknown } }).params?.uri;
      if (typeof uri === "string") for (const l of this.updateListeners) l(name, uri);
    });
    await client.connect(transport, { timeout: this.options.timeoutMs });
    if (this.closed) {
      await client.close().catch(() => {});
      throw new Error("closed");
    }
    return upstream;
  }

  /** One upstream's list of a kind, all pages, cached. Empty when the upstream lacks the capability. */
  async list(u: Upstream, kind: ListKind): Promise<Array<Record<string, unknown>>> {
    const cacheKey = `${u.instanceId}\n${kind}`;
    const ttl = this.options.listTtlMs ?? 30_000;
    const cached = u.lists[kind];
    if (cached && Date.now() - (this.listedAt.get(cacheKey) ?? 0) < ttl) return cached;
    const spec = LIST_KINDS[kind];
    const caps = u.client.getServerCapabilities() as Record<string, unknown> | undefined;
    if (!caps?.[spec.capability]) {
      u.lists[kind] = [];
      return [];
    }
    const items: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    try {
      do {
        const page = (await u.client.request(
          { method: spec.method, params: cursor ? { cursor } : {} },
          { timeout: this.options.timeoutMs },
        )) as Record<string, unknown>;
        items.push(...((page[spec.key] as Array<Record<string, unknown>>) ?? []));
        cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
      } while (cursor && items.length < 10_000);
    } catch (err) {
      this.logger.warn({ instanceId: u.instanceId, kind, err: (err as Error).message }, "upstream list failed");
      this.markStale(u);
      return [];
    }
    this.listedAt.set(cacheKey, Date.now());
    u.lists[kind] = items;
    return items;
  }

  /** Drops an upstream whose call failed: the next use reconnects. */
  markStale(u: Upstream): void {
    const e = this.entries.get(u.instanceId);
    if (e?.upstream === u) e.stale = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.listeners.clear();
    this.updateListeners.clear();
    this.logListeners.clear();
    await Promise.all([...this.entries.values()].map((e) => e.upstream?.client.close().catch(() => {})));
    this.entries.clear();
  }
}
