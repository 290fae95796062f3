import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createFleet,
  type EventBus,
  encryptedFileSecrets,
  envSecrets,
  type Fleet,
  type FleetObserver,
  type FleetRole,
  type FleetStore,
  fileStore,
  type HealthProbe,
  type Logger,
  memoryBus,
  memoryRuntime,
  memorySecrets,
  memoryStore,
  type RuntimeBackend,
  type SecretStore,
} from "@mcpfleet/core";
import { loadExport, tryLoadExport } from "./adapters.js";
import type { HostConfig } from "./config.js";
import { detectRuntime } from "./detect.js";

export interface Choice {
  what: "runtime" | "bus" | "store" | "secrets" | "role" | "mcp";
  value: string;
  reason: string;
}

export interface AssembleHooks {
  /** Called for every event the bus publishes (metrics). */
  onPublish?: (type: string) => void;
  /** Engine instrumentation (reconcile durations, bus lag). */
  observer?: FleetObserver;
}

export interface Assembled {
  fleet: Fleet;
  choices: Choice[];
  workerId: string;
  /** Closes the fleet, then the adapters this assembly created. */
  close(): Promise<void>;
}

export const DEFAULT_TEMPLATES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "templates");

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
    const store = buildStore(config, choices, own);
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
      closeTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      ...(hooks.observer ? { observer: hooks.observer } : {}),
      reconciler: {
        ...(config.RECONCILE_CONCURRENCY ? { concurrency: config.RECONCILE_CONCURRENCY } : {}),
        ...(config.RESYNC_INTERVAL_MS ? { resyncIntervalMs: config.RESYNC_INTERVAL_MS } : {}),
        ...(config.RECONCILE_BACKOFF_MS !== undefined ? { backoffBaseMs: config.RECONCILE_BACKOFF_MS } : {}),
        ...(config.MAX_RESTARTS !== undefined ? { maxRestarts: config.MAX_RESTARTS } : {}),
      },
      health: {
        ...(config.HEALTH_INTERVAL_MS ? { defaultIntervalMs: config.HEALTH_INTERVAL_MS } : {}),
        ...(config.HEALTH_TIMEOUT_MS ? { defaultTimeoutMs: config.HEALTH_TIMEOUT_MS } : {}),
      },
    });
    if (role !== "worker") await loadTemplates(fleet, config.TEMPLATES_DIR ?? DEFAULT_TEMPLATES_DIR, logger);
    return {
      fleet,
      choices,
      workerId,
      async close() {
        await fleet.close();
        for (const c of closers.reverse()) await c().catch((err) => logger.warn({ err }, "adapter close failed"));
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => {});
    throw err;
  }
}

type Own = <T extends { close(): Promise<void> }>(p: T) => T;

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
      const processRuntime = await loadExport("@mcpfleet/backend-process", "processRuntime", "FLEET_RUNTIME=process");
      return { process: own(processRuntime({ logger: log }) as RuntimeBackend) };
    }
    case "podman": {
      const podmanRuntime = await loadExport("@mcpfleet/backend-podman", "podmanRuntime", "FLEET_RUNTIME=podman");
      const socketPath = socket ?? hostSocket(config);
      const docker = own(
        podmanRuntime({
          ...(socketPath ? { socketPath } : {}),
          ...(config.PODMAN_OWNER ? { owner: config.PODMAN_OWNER } : {}),
          ...(config.PODMAN_NETWORK ? { network: config.PODMAN_NETWORK } : {}),
          allowedHostPaths: config.ALLOWED_HOST_PATHS,
          logger: log,
        }) as RuntimeBackend,
      );
      return { docker, ...(await optionalProcessRuntime(logger)) };
    }
    case "k8s": {
      const kubernetesRuntime = await loadExport("@mcpfleet/backend-k8s", "kubernetesRuntime", "FLEET_RUNTIME=k8s");
      const docker = own(
        kubernetesRuntime({
          ...(config.K8S_NAMESPACE ? { namespace: config.K8S_NAMESPACE } : {}),
          logger: log,
        }) as RuntimeBackend,
      );
      return { docker };
    }
  }
}

function hostSocket(config: HostConfig): string | undefined {
  const v = config.CONTAINER_HOST ?? config.DOCKER_HOST;
  return v?.startsWith("unix://") ? v.slice("unix://".length) : v;
}

/** `process` specs still run locally beside a container runtime, when the process backend loads. */
async function optionalProcessRuntime(logger: Logger): Promise<Record<string, RuntimeBackend>> {
  const processRuntime = await tryLoadExport("@mcpfleet/backend-process", "processRuntime");
  if (!processRuntime) {
    logger.warn({}, "@mcpfleet/backend-process did not load: json_spec.type=process is not available");
    return {};
  }
  return { process: processRuntime({ logger: logger.child({ component: "runtime-process" }) }) as RuntimeBackend };
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

/** A URL without its credentials, for the start log. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "";
    }
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

function buildStore(config: HostConfig, choices: Choice[], own: Own): FleetStore {
  if (config.FLEET_STORE === "memory") {
    choices.push({ what: "store", value: "memory", reason: "FLEET_STORE=memory (lost on exit)" });
    return own(memoryStore());
  }
  choices.push({ what: "store", value: "file", reason: `FLEET_STORE=file (${config.storePath})` });
  return own(fileStore({ path: config.storePath }));
}

async function buildSecrets(config: HostConfig, logger: Logger, choices: Choice[], own: Own): Promise<SecretStore> {
  const log = logger.child({ component: `secrets-${config.FLEET_SECRETS}` });
  switch (config.FLEET_SECRETS) {
    case "memory":
      choices.push({ what: "secrets", value: "memory", reason: "FLEET_SECRETS=memory (lost on exit)" });
      return own(memorySecrets());
    case "env":
      choices.push({
        what: "secrets",
        value: "env",
        reason: "FLEET_SECRETS=env (read-only; MCPFLEET_SECRET_<SCOPE>__<KEY>)",
      });
      return own(envSecrets(config.SECRETS_ENV_PREFIX !== undefined ? { prefix: config.SECRETS_ENV_PREFIX } : {}));
    case "vault": {
      const vaultSecrets = await loadExport("@mcpfleet/secrets-vault", "vaultSecrets", "FLEET_SECRETS=vault");
      choices.push({ what: "secrets", value: "vault", reason: `FLEET_SECRETS=vault (${redact(config.VAULT_ADDR!)})` });
      return own(
        vaultSecrets({
          address: config.VAULT_ADDR,
          auth: { method: "token", token: config.VAULT_TOKEN },
          ...(config.VAULT_MOUNT ? { mount: config.VAULT_MOUNT } : {}),
          ...(config.VAULT_NAMESPACE ? { namespace: config.VAULT_NAMESPACE } : {}),
          logger: log,
        }) as SecretStore,
      );
    }
    case "infisical": {
      const infisicalSecrets = await loadExport(
        "@mcpfleet/secrets-infisical",
        "infisicalSecrets",
        "FLEET_SECRETS=infisical",
      );
      choices.push({ what: "secrets", value: "infisical", reason: "FLEET_SECRETS=infisical" });
      return own(
        infisicalSecrets({
          ...(config.INFISICAL_SITE_URL ? { siteUrl: config.INFISICAL_SITE_URL } : {}),
          auth: { clientId: config.INFISICAL_CLIENT_ID, clientSecret: config.INFISICAL_CLIENT_SECRET },
          projectId: config.INFISICAL_PROJECT_ID,
          environment: config.INFISICAL_ENVIRONMENT ?? "prod",
          logger: log,
        }) as SecretStore,
      );
    }
    case "file": {
      const key = config.SECRETS_KEY;
      const keyOption = key
        ? /^[0-9a-fA-F]{64}$/.test(key) || /^[A-Za-z0-9+/]{43}=?$/.test(key)
          ? { key }
          : { passphrase: key }
        : { keyFile: await ensureKeyFile(join(config.dataDir, "secrets.key"), logger) };
      choices.push({
        what: "secrets",
        value: "file",
        reason: `FLEET_SECRETS=file (${config.secretsPath}, AES-256-GCM, key from ${key ? "SECRETS_KEY" : join(config.dataDir, "secrets.key")})`,
      });
      return own(encryptedFileSecrets({ path: config.secretsPath, ...keyOption }));
    }
  }
}

/** The local secrets key file, created (32 random bytes, base64, mode 0600) at first start. */
async function ensureKeyFile(path: string, logger: Logger): Promise<string> {
  try {
    await readFile(path, "utf8");
    return path;
  } catch {
    await mkdir(dirname(path), { recursive: true });
    const created = await writeFile(path, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" }).then(
      () => true,
      () => false,
    );
    if (created) {
      await chmod(path, 0o600).catch(() => {});
      logger.info(
        { path },
        "created the secrets encryption key (keep it with the data directory; SECRETS_KEY overrides it)",
      );
    }
    return path;
  }
}

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
