import { hostname } from "node:os";
import { z } from "zod";
import { FleetError, toFleetError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { memoryBus } from "../memory/memory-bus.js";
import { isUrlSpec } from "../model/spec-guards.js";
import type { PluginV1 } from "../plugins/common.js";
import type { RuntimeBackend } from "../plugins/runtime.js";
import { memorySecrets } from "../secrets/index.js";
import { parseInstanceSpec } from "../spec/index.js";
import { memoryStore } from "../store/memory-store.js";
import { transportOf, upstreamHeaders } from "./connection.js";
import type { EngineContext, EngineSettings } from "./context.js";
import { EventHub } from "./event-hub.js";
import type { Fleet, FleetOptions, InstanceConnection } from "./fleet-types.js";
import { HealthMonitor } from "./health-monitor.js";
import { instancesApi } from "./instances-api.js";
import { observerFor } from "./observer.js";
import { Reconciler } from "./reconciler.js";
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
    healthIntervalMs: o.health?.defaultIntervalMs ?? 30_000,
    healthTimeoutMs: o.health?.defaultTimeoutMs ?? 5_000,
    healthRetries: o.health?.defaultRetries ?? 3,
    allowedHostPaths: o.allowedHostPaths ?? [],
    allowUnsafeEndpoints: o.allowUnsafeEndpoints ?? false,
    closeTimeoutMs: o.closeTimeoutMs ?? 10_000,
  };
}

/**
 * Assembles a fleet. Absent options default to the memory bus, memory store, memory secrets and a
 * silent logger. The fleet closes only the adapters it created itself; adapters you pass in stay
 * yours to close (they may be shared with other fleets).
 */
export function createFleet(options: FleetOptions = {}): Fleet {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join(".");
    throw new FleetError("OPTIONS_INVALID", `[mcpfleet/core] option "${path}": ${issue.message}`, {
      path,
      issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }
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
  const runtimes = new Map<string, RuntimeBackend>(Object.entries(options.runtimes ?? {}));
  if (!runtimes.has("url")) runtimes.set("url", own(urlRuntime()));
  if (runtimes.has("docker") && !runtimes.has("container")) runtimes.set("container", runtimes.get("docker")!);
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
    probes: [...(options.probes ?? [])],
    settings: settingsFrom(options),
    observe,
    publish: (type, subject, data) => hub.publish(type, subject, data),
  };
  const health = new HealthMonitor(ctx);
  const reconciler = new Reconciler(ctx, health);
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
    templates: templatesApi(instances),
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
      const spec = parseInstanceSpec(inst.json_spec);
      return {
        instance: inst,
        endpoint: inst.endpoint,
        transport: transportOf(spec),
        headers: await upstreamHeaders(ctx, spec, o?.signal),
        ...(isUrlSpec(spec) && spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
      };
    },

    registerProbe(probe) {
      ctx.probes.push(probe);
    },

    idle: () => reconciler.idle(),
    resync: () => (role === "api" ? Promise.resolve() : reconciler.resync()),

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
      await timed(`store:${store.name}`, () => store.instances.list(o));
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
