import type { Fleet, Logger } from "@mcpfleet/core";
import { type AggregatedItem, aggregatedDecision } from "../policy/aggregate-policy.js";
import type { ItemKind } from "../policy/evaluate.js";
import type { McpPrincipal } from "../principal.js";
import { type Namespacer, namespacer } from "./namespacing.js";
import { type ListKind, type Upstream, UpstreamPool } from "./upstream-pool.js";

type Item = Record<string, unknown>;
interface Merged {
  items: Item[];
  routes: Map<string, Route>;
}
interface Route {
  u: Upstream;
  own: string;
  item: Item;
}

/** The field of each list kind that carries the aggregated name, and whether it is a URI. */
const KEY_FIELD: Record<ListKind, { field: string; uri: boolean; kind: ItemKind }> = {
  tools: { field: "name", uri: false, kind: "tool" },
  prompts: { field: "name", uri: false, kind: "prompt" },
  resources: { field: "uri", uri: true, kind: "resource" },
  resourceTemplates: { field: "uriTemplate", uri: true, kind: "resource" },
};

/** What the policy judges of a routed item. */
export function policyItem(kind: ListKind, route: { u: Upstream; own: string; item?: Item }): AggregatedItem {
  const ann = route.item?.annotations as { readOnlyHint?: unknown } | undefined;
  return {
    kind: KEY_FIELD[kind].kind,
    instance: route.u.instance,
    own: route.own,
    ...(typeof ann?.readOnlyHint === "boolean" ? { readOnlyHint: ann.readOnlyHint } : {}),
  };
}

export interface AggregatorOptions {
  timeoutMs: number;
  separator?: string;
  listTtlMs?: number;
}

/**
 * Every running instance's tools, prompts, resources and resource templates under one namespace:
 * tools and prompts as `<instance>__<name>`, resources as `mcpfleet:<instance>/<uri>`. A name two
 * instances would both produce is refused (logged, left out). Calls are routed to the instance.
 */
export class Aggregator {
  readonly pool: UpstreamPool;
  readonly names: Namespacer;
  private readonly cache = new Map<ListKind, { at: number; value: Promise<Merged> }>();
  private readonly mergeTtlMs: number;

  constructor(
    fleet: Fleet,
    private readonly logger: Logger,
    options: AggregatorOptions,
  ) {
    this.pool = new UpstreamPool(fleet, logger, {
      timeoutMs: options.timeoutMs,
      ...(options.listTtlMs !== undefined ? { listTtlMs: options.listTtlMs } : {}),
    });
    this.names = namespacer(options.separator);
    this.mergeTtlMs = options.listTtlMs ?? 30_000;
    this.pool.onChange((kind) => {
      if (kind === "all") this.cache.clear();
      else {
        this.cache.delete(kind);
        if (kind === "resources") this.cache.delete("resourceTemplates");
      }
    });
  }

  private aggregatedKey(kind: ListKind, instance: string, item: Item): string | undefined {
    const { field, uri } = KEY_FIELD[kind];
    const v = item[field];
    if (typeof v !== "string") return undefined;
    return uri ? this.names.uri(instance, v) : this.names.name(instance, v);
  }

  /**
   * The merged list of a kind, as the aggregated endpoint shows it to `principal`: only the items its
   * policy and each instance's tool filter permit (every item when neither applies).
   */
  async list(kind: ListKind, principal?: McpPrincipal): Promise<Item[]> {
    const { items, routes } = await this.merged(kind);
    const { field } = KEY_FIELD[kind];
    return items.filter((item) => {
      const route = routes.get(String(item[field]));
      return route !== undefined && aggregatedDecision(principal, policyItem(kind, route)).allowed;
    });
  }

  private merged(kind: ListKind): Promise<Merged> {
    const hit = this.cache.get(kind);
    if (hit && Date.now() - hit.at < this.mergeTtlMs) return hit.value;
    const value = this.merge(kind);
    const entry = { at: Date.now(), value };
    this.cache.set(kind, entry);
    value.catch(() => {
      if (this.cache.get(kind) === entry) this.cache.delete(kind);
    });
    return value;
  }

  private async merge(kind: ListKind): Promise<Merged> {
    const ups = await this.pool.running();
    const lists = await Promise.all(ups.map(async (u) => [u, await this.pool.list(u, kind)] as const));
    const byKey = new Map<string, Array<{ u: Upstream; item: Item }>>();
    for (const [u, items] of lists) {
      for (const item of items) {
        const key = this.aggregatedKey(kind, u.name, item);
        if (key) byKey.set(key, [...(byKey.get(key) ?? []), { u, item }]);
      }
    }
    const items: Item[] = [];
    const routes = new Map<string, Route>();
    const { field } = KEY_FIELD[kind];
    for (const [key, found] of byKey) {
      if (found.length > 1) {
        this.logger.warn(
          { kind, name: key, instances: found.map((f) => f.u.name) },
          "aggregated name collision: refused",
        );
        continue;
      }
      const { u, item } = found[0]!;
      const shown: Item = { ...item, [field]: key };
      if (kind === "resources" || kind === "resourceTemplates") {
        shown.name = this.names.name(u.name, String(item.name ?? ""));
      }
      items.push(shown);
      routes.set(key, { u, own: String(item[field]), item });
    }
    return { items, routes };
  }

  /** The instance and its own name for an aggregated tool or prompt name (refused names have none). */
  async routeName(
    kind: "tools" | "prompts",
    aggregated: string,
  ): Promise<{ u: Upstream; name: string; item: Item } | undefined> {
    let route = (await this.merged(kind)).routes.get(aggregated);
    if (!route) {
      // an instance that just started: look again once, fresh
      this.cache.delete(kind);
      route = (await this.merged(kind)).routes.get(aggregated);
    }
    return route ? { u: route.u, name: route.own, item: route.item } : undefined;
  }

  /**
   * The instance and its own URI for an aggregated resource URI (or URI template). A URI outside the
   * aggregated namespace (one a client learned from the instance itself) goes to the one instance
   * that lists it, or to the only running instance; with several candidates it has none.
   */
  async routeUri(aggregated: string): Promise<{ u: Upstream; uri: string; namespaced: boolean } | undefined> {
    const split = this.names.splitUri(aggregated);
    if (split) {
      const u = await this.pool.byName(split[0]);
      return u ? { u, uri: split[1], namespaced: true } : undefined;
    }
    const ups = await this.pool.running();
    const listing: Upstream[] = [];
    for (const u of ups) {
      if ((await this.pool.list(u, "resources")).some((r) => r.uri === aggregated)) listing.push(u);
    }
    const only = listing.length === 1 ? listing[0] : listing.length === 0 && ups.length === 1 ? ups[0] : undefined;
    return only ? { u: only, uri: aggregated, namespaced: false } : undefined;
  }

  /** Rewrites the URIs of resource contents an instance returned into the aggregated namespace. */
  rewriteContents(instance: string, result: Item): Item {
    const contents = result.contents;
    if (!Array.isArray(contents)) return result;
    return {
      ...result,
      contents: contents.map((c: Item) =>
        typeof c.uri === "string" ? { ...c, uri: this.names.uri(instance, c.uri) } : c,
      ),
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
