import { resolve } from "node:path";
import { z } from "zod";

/**
 * Environment configuration of the host, validated once at start. Every problem is reported at once
 * with the variable's name (`FLEET_BUS: must be one of memory, redis, nats`).
 */

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));
const int = (min: number, max: number) =>
  z.coerce
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(min, { error: `must be >= ${min}` })
    .max(max, { error: `must be <= ${max}` });
const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL (${protocols.join(" or ")})` },
  );

/** A DNS name or IPv4 address (letters, digits, dots, hyphens): nothing that could change a URL around it. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export const envSchema = z.object({
  FLEET_RUNTIME: z
    .enum(["auto", "process", "podman", "k8s", "memory"], {
      error: "must be one of auto, process, podman, k8s, memory",
    })
    .default("auto"),
  FLEET_BUS: z.enum(["memory", "redis", "nats"], { error: "must be one of memory, redis, nats" }).default("memory"),
  FLEET_SECRETS: z
    .enum(["file", "env", "vault", "infisical", "postgres", "memory"], {
      error: "must be one of file, env, vault, infisical, postgres, memory",
    })
    .default("file"),
  FLEET_STORE: z
    .enum(["file", "postgres", "memory"], { error: "must be one of file, postgres, memory" })
    .default("file"),
  FLEET_ROLE: z.enum(["all", "api"], { error: "must be all or api" }).default("all"),
  WORKER_ID: z.string().min(1).max(200).optional(),
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default(".mcpfleet"),
  TEMPLATES_DIR: z.string().min(1).optional(),
  /** Comma-separated server.json / template files or directories of them, loaded into the catalog at start. */
  CATALOG_DIR: list.optional(),
  /** Mount point of the original manager's HTTP API (`/` or `/api/mcp`); unset: not mounted. */
  COMPAT_PREFIX: z
    .string()
    .regex(/^\/(?:[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*)?$/, { error: "must be / or a path like /api/mcp" })
    .optional(),
  LOG_LEVEL: z
    .enum(["debug", "info", "warn", "error", "silent"], { error: "must be debug, info, warn, error or silent" })
    .default("info"),
  // auth
  AUTH: z
    .string()
    .transform((v) => [
      ...new Set(
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(
      z
        .array(z.enum(["keys", "oidc", "disabled"]), { error: "must be keys, oidc, keys,oidc or disabled" })
        .min(1, { error: "must be keys, oidc, keys,oidc or disabled" })
        .refine((a) => !a.includes("disabled") || a.length === 1, { error: "disabled cannot be combined" }),
    )
    .default(["keys"]),
  OIDC_ISSUER: url(["https:", "http:"]).optional(),
  OIDC_AUDIENCE: z.string().min(1).max(2000).optional(),
  OIDC_ROLES_CLAIM: z.string().min(1).max(200).default("roles"),
  OIDC_GROUPS_CLAIM: z.string().min(1).max(200).default("groups"),
  OIDC_SCOPE_CLAIM: z.string().min(1).max(200).default("scope"),
  /** `value=role` pairs mapping claim values (roles, groups or scopes) to host roles. */
  OIDC_ROLE_MAP: z
    .string()
    .transform((v, ctx) => {
      const out: Record<string, "viewer" | "operator" | "admin"> = {};
      for (const pair of v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)) {
        const at = pair.lastIndexOf("=");
        const role = pair.slice(at + 1);
        if (at <= 0 || !["viewer", "operator", "admin"].includes(role)) {
          ctx.addIssue({ code: "custom", message: "must be value=role pairs (role viewer, operator or admin)" });
          return z.NEVER;
        }
        out[pair.slice(0, at)] = role as "viewer" | "operator" | "admin";
      }
      return out;
    })
    .optional(),
  OIDC_ALGORITHMS: list.default(["RS256", "PS256", "ES256", "EdDSA"]),
  OIDC_CLOCK_SKEW_S: int(0, 300).default(30),
  OIDC_JWKS_COOLDOWN_MS: int(0, 3_600_000).default(30_000),
  /** JSON file binding claim values to authorization policies (see README). */
  OIDC_POLICIES_FILE: z.string().min(1).optional(),
  /** How long managed API keys are cached (revocations reach every replica within this time). */
  KEYS_CACHE_TTL_MS: int(0, 60_000).default(2000),
  API_KEYS: z.string().optional(),
  API_KEYS_FILE: z.string().min(1).optional(),
  AUDIT_LOG: z.string().min(1).optional(),
  CORS_ORIGINS: list.default([]),
  RATE_LIMIT_RPS: z.coerce.number({ error: "must be a number" }).positive({ error: "must be > 0" }).default(20),
  RATE_LIMIT_BURST: int(1, 1_000_000).default(60),
  /** `auto`: one budget shared by every replica through Redis when one is configured, else per process. */
  RATE_LIMIT_STORE: z
    .enum(["auto", "memory", "redis"], { error: "must be one of auto, memory, redis" })
    .default("auto"),
  /** Redis of the shared rate limits (default: `REDIS_URL` with `FLEET_BUS=redis`). */
  RATE_LIMIT_REDIS_URL: url(["redis:", "rediss:"]).optional(),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, { error: "must look like 1mb or 512kb" })
    .default("1mb"),
  // runtime adapters
  CONTAINER_HOST: z.string().min(1).optional(),
  DOCKER_HOST: z.string().min(1).optional(),
  KUBECONFIG: z.string().min(1).optional(),
  K8S_NAMESPACE: z.string().min(1).optional(),
  PODMAN_OWNER: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, { error: "must be 1-63 characters of [a-zA-Z0-9_.-]" })
    .optional(),
  PODMAN_NETWORK: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, { error: "must be a network name" })
    .optional(),
  /** Host IP the Podman runtime publishes container ports (and serves stdio bridges) on (default 127.0.0.1). */
  PODMAN_PUBLISH_HOST: z
    .union([z.ipv4(), z.ipv6()], { error: "must be an IP address of this host (0.0.0.0 for every interface)" })
    .optional(),
  /** Host name or address other machines reach those ports on, in the endpoints (default: the publish host). */
  PODMAN_ADVERTISE_HOST: z
    .union([z.ipv6(), z.string().regex(HOST_NAME)], { error: "must be a host name or an IP address" })
    .optional(),
  ALLOWED_HOST_PATHS: list.default([]),
  // the process runtime (local commands): on with FLEET_RUNTIME=process, off beside a container runtime unless on
  FLEET_PROCESS_RUNTIME: bool.optional(),
  FLEET_PROCESS_SANDBOX: z
    .enum(["auto", "bwrap", "user", "none"], { error: "must be one of auto, bwrap, user, none" })
    .default("auto"),
  FLEET_PROCESS_ALLOW_ROOT: bool.default(false),
  FLEET_PROCESS_READONLY_PATHS: list.default([]),
  FLEET_PROCESS_WORK_DIR: z.string().min(1).optional(),
  START_TIMEOUT_MS: int(1, 600_000).optional(),
  /** Address other machines reach this host's process instances on (default 127.0.0.1). */
  FLEET_PROCESS_ADVERTISE_HOST: z.string().min(1).max(255).optional(),
  /** Deprecated: true now means ENDPOINT_ALLOW=loopback,private (link-local and metadata stay refused). */
  ALLOW_UNSAFE_ENDPOINTS: bool.default(false),
  SHARED_SECRET_SCOPES: list.default([]),
  /** URL instances may reach these besides public addresses: loopback, private, CIDRs, host names. */
  ENDPOINT_ALLOW: list.default([]),
  // bus adapters
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  REDIS_PREFIX: z.string().max(200).optional(),
  NATS_URL: url(["nats:", "tls:", "ws:", "wss:"]).optional(),
  NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "must be a JetStream stream name" })
    .optional(),
  NATS_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, { error: "must be a subject prefix" })
    .optional(),
  // the original system's Redis pub/sub events (MCPServerInstanceCreated/Deleted in, StatusChanged out)
  /** Enables the legacy source: subscribe to the original channels on this Redis. */
  LEGACY_REDIS_URL: url(["redis:", "rediss:"]).optional(),
  /** Channel names when they differ from the event names: `created=...,deleted=...,status=...`. */
  LEGACY_CHANNELS: z
    .string()
    .transform((v, ctx) => {
      const out: { created?: string; deleted?: string; statusChanged?: string } = {};
      const keys = { created: "created", deleted: "deleted", status: "statusChanged" } as const;
      for (const pair of v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)) {
        const at = pair.indexOf("=");
        const key = keys[pair.slice(0, at) as keyof typeof keys];
        const name = pair.slice(at + 1);
        if (at <= 0 || !key || !/^[A-Za-z0-9_.:/-]{1,200}$/.test(name)) {
          ctx.addIssue({ code: "custom", message: "must be created=, deleted= or status= channel-name pairs" });
          return z.NEVER;
        }
        out[key] = name;
      }
      return out;
    })
    .optional(),
  /** Publish status changes back on the status channel (once, however many processes run the source). */
  LEGACY_PUBLISH_STATUS: bool.default(true),
  // PostgreSQL (FLEET_STORE=postgres, FLEET_SECRETS=postgres)
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "must be a lower-case SQL identifier" })
    .optional(),
  DATABASE_POOL_SIZE: int(1, 1000).optional(),
  // secret adapters
  SECRETS_FILE: z.string().min(1).optional(),
  SECRETS_KEY: z
    .string()
    .min(8, { error: "must be a 32-byte key (64 hex or base64) or a passphrase of at least 8 characters" })
    .optional(),
  SECRETS_ENV_PREFIX: z.string().optional(),
  VAULT_ADDR: url(["http:", "https:"]).optional(),
  VAULT_TOKEN: z.string().min(1).optional(),
  VAULT_NAMESPACE: z.string().min(1).optional(),
  VAULT_MOUNT: z.string().min(1).optional(),
  INFISICAL_SITE_URL: url(["http:", "https:"]).optional(),
  INFISICAL_CLIENT_ID: z.string().min(1).optional(),
  INFISICAL_CLIENT_SECRET: z.string().min(1).optional(),
  INFISICAL_PROJECT_ID: z.string().min(1).optional(),
  INFISICAL_ENVIRONMENT: z.string().min(1).optional(),
  // engine tuning
  RECONCILE_CONCURRENCY: int(1, 1024).optional(),
  RESYNC_INTERVAL_MS: int(10, 86_400_000).optional(),
  RECONCILE_BACKOFF_MS: int(0, 600_000).optional(),
  MAX_RESTARTS: int(0, 1000).optional(),
  /**
   * How long a worker's lease on an instance lasts without renewal (renewed every third of it, judged
   * by the store's clock): a worker paused or cut off this long loses its instances to another.
   */
  LEASE_TTL_MS: int(1000, 86_400_000).optional(),
  HEALTH_INTERVAL_MS: int(10, 86_400_000).optional(),
  HEALTH_TIMEOUT_MS: int(1, 600_000).optional(),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
});

type Env = z.infer<typeof envSchema>;

export interface HostConfig extends Env {
  /** Absolute data directory. */
  dataDir: string;
  storePath: string;
  secretsPath: string;
  keysPath: string;
  auditPath: string;
  /** Instance homes and pid records of the process runtime (beside, never inside, the data directory). */
  processWorkDir: string;
}

/** The variables that must be set for a chosen adapter. */
const REQUIRED_BY: Array<[keyof Env, string, (e: Env) => boolean]> = [
  ["REDIS_URL", "FLEET_BUS=redis", (e) => e.FLEET_BUS === "redis"],
  ["NATS_URL", "FLEET_BUS=nats", (e) => e.FLEET_BUS === "nats"],
  ["DATABASE_URL", "FLEET_STORE=postgres", (e) => e.FLEET_STORE === "postgres"],
  ["DATABASE_URL", "FLEET_SECRETS=postgres", (e) => e.FLEET_SECRETS === "postgres" && e.FLEET_STORE !== "postgres"],
  ["VAULT_ADDR", "FLEET_SECRETS=vault", (e) => e.FLEET_SECRETS === "vault"],
  ["VAULT_TOKEN", "FLEET_SECRETS=vault", (e) => e.FLEET_SECRETS === "vault"],
  ["INFISICAL_CLIENT_ID", "FLEET_SECRETS=infisical", (e) => e.FLEET_SECRETS === "infisical"],
  ["INFISICAL_CLIENT_SECRET", "FLEET_SECRETS=infisical", (e) => e.FLEET_SECRETS === "infisical"],
  ["INFISICAL_PROJECT_ID", "FLEET_SECRETS=infisical", (e) => e.FLEET_SECRETS === "infisical"],
];

export class ConfigError extends Error {
  constructor(readonly issues: Array<{ variable: string; message: string }>) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment; throws `ConfigError` listing every bad variable (never their values).
 * Relative paths resolve against the directory the command was started from (`INIT_CWD`, set by
 * pnpm/npm scripts, else the working directory), so `pnpm --filter … start` at the repo root keeps
 * its data in `./.mcpfleet` there.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = env.INIT_CWD || process.cwd()): HostConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? "(env)"), message: i.message })),
    );
  }
  const e = parsed.data;
  const issues = REQUIRED_BY.filter(([name, , when]) => when(e) && e[name] === undefined).map(([name, why]) => ({
    variable: name,
    message: `is required with ${why}`,
  }));
  if (e.AUTH.includes("oidc")) {
    if (!e.OIDC_ISSUER) issues.push({ variable: "OIDC_ISSUER", message: "is required with AUTH=oidc" });
    if (!e.OIDC_AUDIENCE)
      issues.push({ variable: "OIDC_AUDIENCE", message: "is required with AUTH=oidc (this host's resource URL)" });
    const bad = e.OIDC_ALGORITHMS.filter((a) => !/^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(a));
    if (bad.length > 0 || e.OIDC_ALGORITHMS.length === 0)
      issues.push({
        variable: "OIDC_ALGORITHMS",
        message: "must list asymmetric JWS algorithms (RS256, ES256, EdDSA...)",
      });
  }
  if (e.FLEET_ROLE === "api" && e.FLEET_BUS === "memory") {
    issues.push({
      variable: "FLEET_BUS",
      message: "FLEET_ROLE=api needs a shared bus (redis or nats) so workers see its events",
    });
  }
  if (e.FLEET_ROLE === "api" && e.FLEET_STORE === "memory") {
    issues.push({ variable: "FLEET_STORE", message: "FLEET_ROLE=api needs a shared store (file or postgres)" });
  }
  if (e.RATE_LIMIT_STORE === "redis" && !e.RATE_LIMIT_REDIS_URL && !(e.FLEET_BUS === "redis" && e.REDIS_URL)) {
    issues.push({
      variable: "RATE_LIMIT_REDIS_URL",
      message: "is required with RATE_LIMIT_STORE=redis (unless FLEET_BUS=redis with REDIS_URL)",
    });
  }
  if (e.FLEET_PROCESS_RUNTIME === false && e.FLEET_RUNTIME === "process") {
    issues.push({ variable: "FLEET_PROCESS_RUNTIME", message: "off contradicts FLEET_RUNTIME=process" });
  }
  if (e.FLEET_PROCESS_ALLOW_ROOT && e.FLEET_PROCESS_SANDBOX !== "none") {
    issues.push({ variable: "FLEET_PROCESS_ALLOW_ROOT", message: "only applies with FLEET_PROCESS_SANDBOX=none" });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const dataDir = resolve(cwd, e.DATA_DIR);
  return {
    ...e,
    dataDir,
    storePath: resolve(dataDir, "store.json"),
    secretsPath: resolve(cwd, e.SECRETS_FILE ?? resolve(dataDir, "secrets.enc")),
    keysPath: resolve(cwd, e.API_KEYS_FILE ?? resolve(dataDir, "api-keys.json")),
    auditPath: resolve(cwd, e.AUDIT_LOG ?? resolve(dataDir, "audit.log")),
    processWorkDir: resolve(cwd, e.FLEET_PROCESS_WORK_DIR ?? `${dataDir}-process`),
  };
}
