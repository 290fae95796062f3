import { hostname } from "node:os";
import { z } from "zod";
import { parseOptions } from "../adapter/options.js";
import { FleetError, toFleetError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { memoryBus } from "../memory/memory-bus.js";
import { isUrlSpec } from "../model/spec-guards.js";
import type { PluginV1 } from "../plugins/common.js";
import { memorySecrets } from "../secrets/index.js";
import { specTypeRegistry } from "../spec/index.js";
import { memoryStore } from "../store/memory-store.js";
import { EndpointPolicy, endpointPolicyFrom } from "./address-policy.js";
import { transportOf, upstreamHeaders } from "./connection.js";
import type { EngineContext, EngineSettings } from "./context.js";
import { EventHub } from "./event-hub.js";
import type { Fleet, FleetOptions, InstanceConnection } from "./fleet-types.js";
import type { HealthMonitor } from "./health-monitor.js";
import { instancesApi } from "./instances-api.js";
import { observerFor } from "./observer.js";
import { Reconciler } from "./reconciler.js";
import { routeRuntimes } from "./runtime-routing.js";
import { serversApi } from "./servers-api.js";
import { templatesApi } from "./templates-api.js";
import { urlRuntime } from "./url-runtime.js";

const plugin = z.custom<PluginV1>(
  (v) => typeof v === "object" && v !== null && (v as PluginV1).specificationVersion === "v1",
  {
    message: 'must be a v1 plug-in (specificationVersion "v1")',
  },
);

const optionsSchema = z.object({
  runtimes: z.record(z.string().min(1), plugin).optional(),
  specTypes: z
    .record(
      z.string().min(1),
      z.custom((v) => typeof v === "function" || (typeof v === "object" && v !== null), {
        message: "must be a Standard Schema (zod, valibot, arktype) or a parse function",
      }),
    )
    .optional(),
  bus: plugin.optional(),
  secrets: plugin.optional(),
  store: plugin.optional(),
  logger: z
    .custom((v) => typeof v === "object" && v !== null && typeof (v as { info?: unknown }).info === "function", {
      message: "must be a pino-compatible logger",
    })
    .optional(),
  role: z.enum(["all", "api", "worker"]).optional(),
  probes: z.array(z.any()).optional(),
  workerId: z.string().min(1).max(200).optional(),
  source: z.string().min(1).optional(),
  reconciler: z
    .object({
      concurrency: z.number().int().min(1).max(1024).optional(),
      resyncIntervalMs: z.number().int().min(10).optional(),
      maxRestarts: z.number().int().min(0).max(1000).optional(),
      backoffBaseMs: z.number().int().min(0).optional(),
      backoffMaxMs: z.number().int().min(0).optional(),
      group: z.string().min(1).optional(),
      stableAfterMs: z.number().int().min(0).optional(),
      startTimeoutMs: z.number().int().min(1).optional(),
      claimTtlMs: z.number().int().min(1).optional(),
      leaseTtlMs: z.number().int().min(1).max(86_400_000).optional(),
    })
    .optional(),
  health: z
    .object({
      defaultIntervalMs: z.number().int().min(10).optional(),
      defaultTimeoutMs: z.number().int().min(1).optional(),
      defaultRetries: z.number().int().min(1).optional(),
    })
    .optional(),
  allowedHostPaths: z.array(z.string().min(1)).optional(),
  allowUnsafeEndpoints: z.boolean().optional(),
  sharedSecretScopes: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/)).optional(),
  endpointPolicy: z
    .union([
      z.instanceof(EndpointPolicy),
      z.object({ allow: z.array(z.string().min(1)).optional(), resolver: z.any().optional() }),
    ])
    .optional(),
  closeTimeoutMs: z.number().int().min(0).optional(),
  observer: z
    .custom((v) => typeof v === "object" && v !== null, { message: "must be an object of hook functions" })
    .optional(),
});

function settingsFrom(o: FleetOptions): EngineSettings {
  return {
    concurrency: o.reconciler?.concurrency ?? 16,
    resyncIntervalMs: o.reconciler?.resyncIntervalMs ?? 30_000,
    maxRestarts: o.reconciler?.maxRestarts ?? 5,
    backoffBaseMs: o.reconciler?.backoffBaseMs ?? 500,
    backoffMaxMs: o.reconciler?.backoffMaxMs ?? 30_000,
    group: o.reconciler?.group ?? "mcpfleet-reconciler",
    stableAfterMs: o.reconciler?.stableAfterMs ?? 30_000,
    startTimeoutMs: o.reconciler?.startTimeoutMs ?? 60_000,
    claimTtlMs: o.reconciler?.claimTtlMs ?? (o.reconciler?.startTimeoutMs ?? 60_000) + 30_000,
    leaseTtlMs: Math.min(o.reconciler?.leaseTtlMs ?? o.reconciler?.claimTtlMs ?? 15_000, 86_400_000),
    healthIntervalMs: o.health?.defaultIntervalMs ?? 30_000,
    healthTimeoutMs: o.health?.defaultTimeoutMs ?? 5_000,
    healthRetries: o.health?.defaultRetries ?? 3,
    allowedHostPaths: o.allowedHostPaths ?? [],
    endpointPolicy: endpointPolicyFrom(o.endpointPolicy, o.allowUnsafeEndpoints),
    sharedSecretScopes: o.sharedSecretScopes ?? [],
    closeTimeoutMs: o.closeTimeoutMs ?? 10_000,
  };
}

/**
 * Assembles a fleet. Absent options default to the memory bus, memory store, memory secrets and a
 * silent logger. The fleet closes only the adapters it created itself; adapters you pass in stay
 * yours to close (they may be shared with other fleets).
 */
export function createFleet(options: FleetOptions = {}): Fleet {
  parseOptions("core", optionsSchema, options);
  // checked before anything is created, so a refusal leaves nothing to close
  const specs = specTypeRegistry(options.specTypes ?? {});
  const runtimes = routeRuntimes(options.runtimes ?? {}, specs);
  const owned: PluginV1[] = [];
  const own = <T extends PluginV1>(p: T): T => {
    owned.push(p);
    return p;
  };
  const logger = (options.logger ?? silentLogger()).child({ component: "mcpfleet" });
  const bus = options.bus ?? own(memoryBus());
  const store = options.store ?? own(memoryStore());
  const secrets = options.secrets ?? own(memorySecrets());
  const role = options.role ?? "all";
  if (!runtimes.has("url")) runtimes.set("url", own(urlRuntime()));
  const source = options.source ?? `mcpfleet://${hostname()}/${options.workerId ?? "local"}`;
  const observe = observerFor(options.observer, logger);
  const hub = new EventHub(bus, source, logger, observe);
  const ctx: EngineContext = {
    role,
    workerId: options.workerId ?? "local",
    source,
    store,
    bus,
    secrets,
    logger,
    runtimes,
    specs,
    probes: [...(options.probes ?? [])],
    settings: settingsFrom(options),
    observe,
    publish: (type, subject, data) => hub.publish(type, subject, data),
  };
  const reconciler = new Reconciler(ctx);
  const health = reconciler.health;
  const instances = instancesApi(ctx, hub);
  const lifetime = new AbortController();
  let state: "new" | "started" | "closed" = "new";

  const assertOpen = () => {
    if (state === "closed") throw new FleetError("CLOSED", "fleet is closed");
  };

  const fleet: Fleet & { reconciler: Reconciler; health: HealthMonitor } = {
    role,
    logger,
    servers: serversApi(ctx),
    templates: templatesApi(instances, store.templates),
    instances,
    reconciler,
    health,

    async start() {
      assertOpen();
      if (state === "started") return;
      state = "started";
      await hub.start(lifetime.signal);
      if (role !== "api") await reconciler.start();
      logger.info(
        {
          role,
          workerId: ctx.workerId,
          runtimes: [...runtimes.keys()],
          bus: bus.name,
          store: store.name,
          secrets: secrets.name,
        },
        "fleet started",
      );
    },

    subscribe: (listener) => hub.subscribe(listener),

    async connection(idOrName, o): Promise<InstanceConnection> {
      assertOpen();
      const inst = await instances.get(idOrName, o);
      if (!["running", "unhealthy", "starting"].includes(inst.status) || !inst.endpoint) {
        throw new FleetError("UNSUPPORTED", `instance ${inst.name} is ${inst.status}: not reachable`, {
          path: "status",
          isRetryable: true,
        });
      }
      if (!/^https?:\/\//.test(inst.endpoint)) {
        throw new FleetError(
          "UNSUPPORTED",
          `instance ${inst.name} has no HTTP endpoint (${inst.endpoint.split(":")[0]})`,
          { path: "endpoint" },
        );
      }
      const spec = specs.parse(inst.json_spec);
      const headers = await upstreamHeaders(ctx, spec, o?.signal);
      let endpoint = inst.endpoint;
      let replicas: InstanceConnection["replicas"];
      if (!isUrlSpec(spec)) {
        // what the runtime runs may need credentials it never lets out of this process (a bridge's
        // token): ask it; they reach the gateway only, never the store or a response
        const rt = runtimes.get(spec.type === "container" ? "docker" : spec.type);
        const observed = await rt?.inspect(inst.id, o).catch(() => undefined);
        if (observed?.endpointHeaders && observed.endpoint) {
          endpoint = observed.endpoint;
          Object.assign(headers, observed.endpointHeaders);
        }
        if (observed?.replicaEndpoints) {
          replicas = observed.replicaEndpoints
            .filter((r) => r.ready)
            .map((r) => ({ replica: r.replica, endpoint: r.endpoint }));
          if (observed.endpoint) endpoint = observed.endpoint;
        }
      }
      return {
        instance: inst,
        endpoint,
        transport: transportOf(spec),
        headers,
        external: isUrlSpec(spec),
        ...(replicas ? { replicas } : {}),
        ...((spec as { timeoutMs?: number }).timeoutMs ? { timeoutMs: (spec as { timeoutMs: number }).timeoutMs } : {}),
      };
    },

    registerProbe(probe) {
      ctx.probes.push(probe);
    },

    idle: () => reconciler.idle(),
    resync: () => (role === "api" ? Promise.resolve() : reconciler.resync()),

    endpointPolicy: ctx.settings.endpointPolicy,

    runtimeFor: (type) => runtimes.get(type === "container" ? "docker" : type),

    async ready(o) {
      const checks: Record<string, { ok: boolean; reason?: string }> = {};
      const timed = async (name: string, fn: () => Promise<unknown>) => {
        try {
          await Promise.race([
            fn(),
            new Promise((_, rej) => setTimeout(() => rej(new Error("timed out")), 3000).unref?.()),
          ]);
          checks[name] = { ok: true };
        } catch (err) {
          checks[name] = { ok: false, reason: toFleetError(err).message };
        }
      };
      await timed(`store:${store.name}`, () =>
        store.ping
          ? store.ping(o)
          : store.instances.query
            ? store.instances.query({ limit: 1 }, o)
            : store.instances.list(o),
      );
      checks[`bus:${bus.name}`] = state === "closed" ? { ok: false, reason: "closed" } : { ok: true };
      for (const rt of new Set(runtimes.values())) await timed(`runtime:${rt.name}`, () => rt.list(o));
      return { ok: Object.values(checks).every((c) => c.ok), checks };
    },

    async close() {
      if (state === "closed") return;
      state = "closed";
      health.stop();
      await reconciler.stop();
      await hub.close();
      lifetime.abort();
      for (const p of owned.reverse()) await p.close().catch(() => {});
      logger.info({}, "fleet closed");
    },
    [Symbol.asyncDispose]: () => fleet.close(),
  };
  return fleet;
}
