import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createCatalog,
  type Fleet,
  type FleetStore,
  type HostResolver,
  type Logger,
  storeCatalogRepository,
} from "@mcpfleet/core";
import { type Assembled, assembleFleet, type Choice, DEFAULT_TEMPLATES_DIR } from "@mcpfleet/example-host-kit/assemble";
import type { HostConfig } from "@mcpfleet/example-host-kit/config";
import { HostMetrics } from "@mcpfleet/example-host-kit/metrics";
import { createApp } from "./app.js";
import { createFirstAdminKey, type KeyRing, parseApiKeys, readKeysFile } from "./auth/keys.js";
import { ManagedKeys } from "./auth/managed-keys.js";
import { OidcVerifier, readPolicyBindings } from "./auth/oidc.js";
import { loadCatalog } from "./catalog-loader.js";
import { type AuditLog, fileAuditLog } from "./http/audit.js";
import type { Limiter } from "./http/rate-limit.js";
import { buildLimiter } from "./http/shared-rate-limit.js";
import { type EventStreamOptions, FleetEventLog } from "./routes/events.js";
import { loadMcpLayer, type McpLayer } from "./routes/mcp.js";

export interface StartOptions {
  logger: Logger;
  /** Where the one-time admin key and the "listening" line go (default stdout). */
  print?: (line: string) => void;
  /** Resolver of the endpoint policy (tests play DNS rebinding with it; default: the system's). */
  endpointResolver?: HostResolver;
  /** `GET /v1/events` buffer size and heartbeat (tests shorten them). */
  events?: EventStreamOptions;
}

export interface RunningHost {
  url: string;
  port: number;
  server: Server;
  fleet: Fleet;
  choices: Choice[];
  /** Set when this start generated the first admin key (shown once). */
  generatedAdminKey?: string;
  close(): Promise<void>;
}

async function loadIdentity(
  config: HostConfig,
  store: FleetStore,
  logger: Logger,
): Promise<{ managed?: ManagedKeys; oidc?: { verifier: OidcVerifier; audience: string }; how: string[] }> {
  const how: string[] = [];
  let managed: ManagedKeys | undefined;
  let oidc: { verifier: OidcVerifier; audience: string } | undefined;
  const repo = store.keys;
  if (config.AUTH.includes("keys") && repo) {
    managed = new ManagedKeys(repo, config.KEYS_CACHE_TTL_MS, logger.child({ component: "keys" }));
    how.push("managed keys");
  }
  if (config.AUTH.includes("oidc")) {
    const verifier = new OidcVerifier({
      issuer: config.OIDC_ISSUER!,
      audience: config.OIDC_AUDIENCE!,
      rolesClaim: config.OIDC_ROLES_CLAIM,
      groupsClaim: config.OIDC_GROUPS_CLAIM,
      scopeClaim: config.OIDC_SCOPE_CLAIM,
      ...(config.OIDC_ROLE_MAP ? { roleMap: config.OIDC_ROLE_MAP } : {}),
      algorithms: config.OIDC_ALGORITHMS,
      clockSkewS: config.OIDC_CLOCK_SKEW_S,
      jwksCooldownMs: config.OIDC_JWKS_COOLDOWN_MS,
      ...(config.OIDC_POLICIES_FILE ? { policies: await readPolicyBindings(config.OIDC_POLICIES_FILE) } : {}),
      logger: logger.child({ component: "oidc" }),
    });
    await verifier.warm();
    oidc = { verifier, audience: config.OIDC_AUDIENCE! };
    how.push(`OIDC tokens from ${config.OIDC_ISSUER}`);
  }
  return { ...(managed ? { managed } : {}), ...(oidc ? { oidc } : {}), how };
}

async function loadKeys(
  config: HostConfig,
  logger: Logger,
  print: (s: string) => void,
): Promise<{ keys: KeyRing | undefined; generated?: string; how: string }> {
  if (config.AUTH.includes("disabled")) {
    const loopback = ["127.0.0.1", "::1", "localhost"].includes(config.HOST);
    logger.warn(
      { host: config.HOST },
      `AUTH=disabled: every caller is admin${loopback ? "" : " and the host listens beyond loopback"}`,
    );
    return { keys: undefined, how: "disabled (AUTH=disabled)" };
  }
  if (!config.AUTH.includes("keys")) return { keys: undefined, how: "no static keys" };
  if (config.API_KEYS) return { keys: parseApiKeys(config.API_KEYS), how: "API_KEYS" };
  const existing = await readKeysFile(config.keysPath);
  if (existing) return { keys: existing, how: `keys file ${config.keysPath} (${existing.size} keys)` };
  const { key, ring } = await createFirstAdminKey(config.keysPath);
  print(`mcpfleet: generated the first admin API key (shown once; its sha256 is in ${config.keysPath}):\n  ${key}`);
  return { keys: ring, generated: key, how: `generated admin key in ${config.keysPath}` };
}

/** Assembles the fleet, starts it and listens. `close()` drains HTTP, then closes the fleet and adapters. */
export async function startHost(config: HostConfig, options: StartOptions): Promise<RunningHost> {
  const { logger } = options;
  const print = options.print ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { keys, generated, how } = await loadKeys(config, logger, print);
  const metrics = new HostMetrics();
  const audit: AuditLog = fileAuditLog(config.auditPath);
  let assembled: Assembled | undefined;
  let mcp: McpLayer | undefined;
  let managed: ManagedKeys | undefined;
  let events: FleetEventLog | undefined;
  let limiter: Limiter | undefined;
  try {
    assembled = await assembleFleet(config, logger, config.FLEET_ROLE, {
      onPublish: (type) => metrics.busPublished.inc({ type }),
      observer: metrics.observer,
      ...(options.endpointResolver ? { endpointResolver: options.endpointResolver } : {}),
    });
    const { fleet } = assembled;
    metrics.attach(fleet);
    events = new FleetEventLog(fleet, options.events);
    events.registerMetrics(metrics.registry);
    await assembled.start();
    mcp = await loadMcpLayer(fleet, logger);
    if (mcp.missing.length > 0)
      logger.warn({ missing: mcp.missing }, "MCP routes answer 501 until @mcpfleet/mcp provides them");
    // entries live in the fleet store when it keeps records, so every replica on it sees them
    const records = assembled.store.records;
    const catalog = createCatalog(records ? { repository: storeCatalogRepository(records) } : {});
    const catalogPaths = config.CATALOG_DIR ?? [config.TEMPLATES_DIR ?? DEFAULT_TEMPLATES_DIR];
    const entries = await loadCatalog(catalog, catalogPaths, logger.child({ component: "catalog" }));
    logger.info({ paths: catalogPaths, entries }, "catalog loaded");
    const identity = await loadIdentity(config, assembled.store, logger);
    managed = identity.managed;
    const limits = await buildLimiter(config, logger);
    limiter = limits.limiter;
    const { app } = createApp({
      limiter,
      fleet,
      config,
      keys,
      audit,
      metrics,
      mcp,
      catalog,
      managed,
      oidc: identity.oidc,
      events,
    });
    const authHow = [how, ...identity.how].join(", ");
    const server = app.listen(config.PORT, config.HOST);
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    const port = (server.address() as AddressInfo).port;
    // URL instances never reach this host's own API, whatever the endpoint allowlist says
    fleet.endpointPolicy.refuseOwnPort(port);
    const host = config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
    const url = `http://${host}:${port}`;
    const runtime = assembled.choices.find((c) => c.what === "runtime")!;
    logger.info(
      {
        choices: assembled.choices,
        auth: authHow,
        rateLimits: limits.how,
        audit: config.auditPath,
        workerId: assembled.workerId,
      },
      "host started",
    );
    print(
      `mcpfleet host listening on ${url} (runtime=${runtime.value}: ${runtime.reason}; auth: ${authHow}; docs: ${url}/docs)`,
    );
    let closing: Promise<void> | undefined;
    const a = assembled;
    const m = mcp;
    const ev = events;
    const lim = limiter;
    return {
      url,
      port,
      server,
      fleet,
      choices: assembled.choices,
      ...(generated ? { generatedAdminKey: generated } : {}),
      close: () =>
        (closing ??= (async () => {
          ev.close();
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          const timer = setTimeout(() => server.closeAllConnections(), Math.min(config.SHUTDOWN_TIMEOUT_MS, 5_000));
          await closed;
          clearTimeout(timer);
          await m.close();
          await lim.close?.();
          managed?.close();
          metrics.detach();
          await a.close();
          await audit.close();
          logger.info({}, "host stopped");
        })()),
    };
  } catch (err) {
    events?.close();
    await mcp?.close();
    await limiter?.close?.().catch(() => {});
    await assembled?.close().catch(() => {});
    await audit.close();
    throw err;
  }
}
