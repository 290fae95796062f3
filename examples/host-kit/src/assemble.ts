import { readdir, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createFleet,
  type EventBus,
  type Fleet,
  type FleetObserver,
  type FleetRole,
  type FleetStore,
  type HealthProbe,
  type HostResolver,
  type Logger,
  memoryBus,
  memoryRuntime,
  type RuntimeBackend,
} from "@mcpfleet/core";
import { loadExport, tryLoadExport } from "./adapters.js";
import { ConfigError, type HostConfig } from "./config.js";
import { detectRuntime } from "./detect.js";
import { buildLegacySource, startLegacy } from "./legacy.js";
import { optionalProcessRuntime, processOptions } from "./process-runtime.js";
import { buildSecrets, buildStore, redact } from "./stores.js";

export interface Choice {
  what: "runtime" | "bus" | "store" | "secrets" | "role" | "mcp" | "legacy";
  value: string;
  reason: string;
}

export interface AssembleHooks {
  /** Called for every event the bus publishes (metrics). */
  onPublish?: (type: string) => void;
  /** Engine instrumentation (reconcile durations, bus lag). */
  observer?: FleetObserver;
  /** Resolver of the endpoint policy (tests inject one to play DNS rebinding). */
  endpointResolver?: HostResolver;
}

export interface Assembled {
  fleet: Fleet;
  choices: Choice[];
  workerId: string;
  /** The fleet store (the host keeps managed API keys in it when it has a keys repository). */
  store: FleetStore;
  /** Starts the fleet, then the legacy Redis source when configured (`LEGACY_REDIS_URL`). */
  start(): Promise<void>;
  /** Closes the legacy source, the fleet, then the adapters this assembly created. */
  close(): Promise<void>;
}

/** The example host's templates (`examples/express-host/templates`), used when `TEMPLATES_DIR` is unset. */
export const DEFAULT_TEMPLATES_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "express-host",
  "templates",
);

/** Builds the fleet the configuration describes. Adapters are imported only when chosen. */
export async function assembleFleet(
  config: HostConfig,
  logger: Logger,
  role: FleetRole,
  hooks: AssembleHooks = {},
): Promise<Assembled> {
  const choices: Choice[] = [];
  const closers: Array<() => Promise<void>> = [];
  const own = <T extends { close(): Promise<void> }>(p: T): T => {
    closers.push(() => p.close());
    return p;
  };
  // one all-in-one process keeps a stable id, so after a restart it still owns the instances it
  // started on process-local runtimes; workers get their own id each
  const workerId = config.WORKER_ID ?? (role === "all" ? "local" : `${hostname()}-${process.pid}`);
  try {
    const runtimes = await buildRuntimes(config, logger, choices, own);
    const bus = await buildBus(config, logger, choices, own, hooks);
    const store = await buildStore(config, logger, choices, own);
    const secrets = await buildSecrets(config, logger, choices, own);
    const probes: HealthProbe[] = [];
    const mcpProbe = await tryLoadExport<(o?: unknown) => HealthProbe>("@mcpfleet/mcp", "mcpProbe");
    if (mcpProbe) probes.push(mcpProbe({ logger: logger.child({ component: "mcp-probe" }) }));
    choices.push({
      what: "role",
      value: role,
      reason:
        role === "api"
          ? "FLEET_ROLE=api: serves the API, workers reconcile"
          : role === "worker"
            ? "worker process"
            : "API and reconciler in one process",
    });
    const fleet = createFleet({
      runtimes,
      bus,
      store,
      secrets,
      probes,
      logger,
      role,
      workerId,
      allowedHostPaths: config.ALLOWED_HOST_PATHS,
      allowUnsafeEndpoints: config.ALLOW_UNSAFE_ENDPOINTS,
      sharedSecretScopes: config.SHARED_SECRET_SCOPES,
      endpointPolicy: {
        allow: config.ENDPOINT_ALLOW,
        ...(hooks.endpointResolver ? { resolver: hooks.endpointResolver } : {}),
      },
      closeTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      ...(hooks.observer ? { observer: hooks.observer } : {}),
      reconciler: {
        ...(config.RECONCILE_CONCURRENCY ? { concurrency: config.RECONCILE_CONCURRENCY } : {}),
        ...(config.RESYNC_INTERVAL_MS ? { resyncIntervalMs: config.RESYNC_INTERVAL_MS } : {}),
        ...(config.RECONCILE_BACKOFF_MS !== undefined ? { backoffBaseMs: config.RECONCILE_BACKOFF_MS } : {}),
        ...(config.MAX_RESTARTS !== undefined ? { maxRestarts: config.MAX_RESTARTS } : {}),
        ...(config.START_TIMEOUT_MS ? { startTimeoutMs: config.START_TIMEOUT_MS } : {}),
        ...(config.LEASE_TTL_MS ? { leaseTtlMs: config.LEASE_TTL_MS } : {}),
      },
      health: {
        ...(config.HEALTH_INTERVAL_MS ? { defaultIntervalMs: config.HEALTH_INTERVAL_MS } : {}),
        ...(config.HEALTH_TIMEOUT_MS ? { defaultTimeoutMs: config.HEALTH_TIMEOUT_MS } : {}),
      },
    });
    if (role !== "worker") await loadTemplates(fleet, config.TEMPLATES_DIR ?? DEFAULT_TEMPLATES_DIR, logger);
    const legacy = await buildLegacySource(config, fleet, store, logger, choices);
    const legacyStop = new AbortController();
    return {
      fleet,
      choices,
      workerId,
      store,
      async start() {
        await fleet.start();
        if (legacy) await startLegacy(legacy, logger, legacyStop.signal);
      },
      async close() {
        legacyStop.abort();
        await legacy?.close().catch((err) => logger.warn({ err }, "legacy source close failed"));
        await fleet.close();
        for (const c of closers.reverse()) await c().catch((err) => logger.warn({ err }, "adapter close failed"));
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => {});
    throw err;
  }
}

export type Own = <T extends { close(): Promise<void> }>(p: T) => T;

async function buildRuntimes(
  config: HostConfig,
  logger: Logger,
  choices: Choice[],
  own: Own,
): Promise<Record<string, RuntimeBackend>> {
  let choice = config.FLEET_RUNTIME;
  let reason = `FLEET_RUNTIME=${choice}`;
  let socket: string | undefined;
  if (choice === "auto") {
    const d = await detectRuntime({ env: process.env });
    choice = d.runtime;
    reason = `auto: ${d.reason}`;
    socket = d.socket;
  }
  choices.push({ what: "runtime", value: choice, reason });
  const log = logger.child({ component: `runtime-${choice}` });
  switch (choice) {
    case "memory": {
      const rt = own(memoryRuntime({ types: ["docker", "process"], recordRequests: false }));
      return { docker: rt, process: rt };
    }
    case "process": {
      if (config.FLEET_PROCESS_RUNTIME === false) {
        throw new ConfigError([
          { variable: "FLEET_PROCESS_RUNTIME", message: `off, and ${reason} chose the process runtime` },
        ]);
      }
      const processRuntime = await loadExport("@mcpfleet/backend-process", "processRuntime", "FLEET_RUNTIME=process");
      return { process: own(processRuntime(await processOptions(config, log)) as RuntimeBackend) };
    }
    case "podman": {
      const podmanRuntime = await loadExport("@mcpfleet/backend-podman", "podmanRuntime", "FLEET_RUNTIME=podman");
      const socketPath = socket ?? hostSocket(config);
      const docker = own(
        podmanRuntime({
          ...(socketPath ? { socketPath } : {}),
          ...(config.PODMAN_OWNER ? { owner: config.PODMAN_OWNER } : {}),
          ...(config.PODMAN_NETWORK ? { network: config.PODMAN_NETWORK } : {}),
          ...(config.PODMAN_PUBLISH_HOST ? { publishHost: config.PODMAN_PUBLISH_HOST } : {}),
          ...(config.PODMAN_ADVERTISE_HOST ? { advertiseHost: config.PODMAN_ADVERTISE_HOST } : {}),
          allowedHostPaths: config.ALLOWED_HOST_PATHS,
          logger: log,
        }) as RuntimeBackend,
      );
      return { docker, ...(await optionalProcessRuntime(config, logger, choices, own)) };
    }
    case "k8s": {
      const kubernetesRuntime = await loadExport("@mcpfleet/backend-k8s", "kubernetesRuntime", "FLEET_RUNTIME=k8s");
      const docker = own(
        kubernetesRuntime({
          ...(config.K8S_NAMESPACE ? { namespace: config.K8S_NAMESPACE } : {}),
          logger: log,
        }) as RuntimeBackend,
      );
      return { docker, ...(await optionalProcessRuntime(config, logger, choices, own)) };
    }
  }
}

function hostSocket(config: HostConfig): string | undefined {
  const v = config.CONTAINER_HOST ?? config.DOCKER_HOST;
  return v?.startsWith("unix://") ? v.slice("unix://".length) : v;
}

async function buildBus(
  config: HostConfig,
  logger: Logger,
  choices: Choice[],
  own: Own,
  hooks: AssembleHooks,
): Promise<EventBus> {
  let bus: EventBus;
  const log = logger.child({ component: `bus-${config.FLEET_BUS}` });
  if (config.FLEET_BUS === "redis") {
    const redisBus = await loadExport("@mcpfleet/bus-redis", "redisBus", "FLEET_BUS=redis");
    bus = own(
      redisBus({
        url: config.REDIS_URL,
        ...(config.REDIS_PREFIX !== undefined ? { prefix: config.REDIS_PREFIX } : {}),
        logger: log,
      }) as EventBus,
    );
    choices.push({ what: "bus", value: "redis", reason: `FLEET_BUS=redis (${redact(config.REDIS_URL!)})` });
  } else if (config.FLEET_BUS === "nats") {
    const natsBus = await loadExport("@mcpfleet/bus-nats", "natsBus", "FLEET_BUS=nats");
    bus = own(
      natsBus({
        servers: config.NATS_URL,
        ...(config.NATS_STREAM ? { stream: config.NATS_STREAM } : {}),
        ...(config.NATS_SUBJECT_PREFIX ? { subjectPrefix: config.NATS_SUBJECT_PREFIX } : {}),
        logger: log,
      }) as EventBus,
    );
    choices.push({ what: "bus", value: "nats", reason: `FLEET_BUS=nats (${redact(config.NATS_URL!)})` });
  } else {
    bus = own(memoryBus());
    choices.push({ what: "bus", value: "memory", reason: "FLEET_BUS=memory (single process)" });
  }
  if (hooks.onPublish) {
    const publish = bus.publish.bind(bus);
    const onPublish = hooks.onPublish;
    (bus as { publish: EventBus["publish"] }).publish = (event, options) => {
      onPublish(event.type);
      return publish(event, options);
    };
  }
  return bus;
}

export { redact } from "./stores.js";

async function loadTemplates(fleet: Fleet, dir: string, logger: Logger): Promise<void> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  } catch {
    logger.warn({ dir }, "templates directory not readable; no templates loaded");
    return;
  }
  for (const f of files) {
    try {
      const t = await fleet.templates.load(JSON.parse(await readFile(join(dir, f), "utf8")));
      logger.debug({ key: t.key, file: f }, "template loaded");
    } catch (err) {
      logger.warn({ file: f, err }, "template skipped");
    }
  }
}
